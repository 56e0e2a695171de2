"""Stripe's webhooks, on SQLite and PostgreSQL: events signed with the stripe package's own
helper are recorded once; forged, stale, tampered or malformed ones are refused and change
nothing; duplicates and any order of delivery give the same records; refunds and disputes
lower the lifetime value; a failed renewal mails the user once."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading

import pytest

from dynamic.accounts.models import User
from dynamic.core.db import as_utc, db
from dynamic.payments import ledger
from dynamic.payments.models import Dispute, Payment, StripeCustomer, StripeEvent, Subscription
from tests.conftest import dispose_service
from tests.helpers.accounts import outbox
from tests.helpers.stripe_stub import (
    DAY,
    SECRET_KEY,
    T0,
    WEBHOOK_SECRET,
    charge,
    checkout_session,
    deliver,
    dispute,
    event,
    invoice,
    invoice_payment,
    make_app,
    signature,
    subscription,
)

#: Where the service would reach Stripe's API: nothing listens there, and nothing here calls it.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def app(database_url, tmp_path):
    service = make_app(
        database_url,
        tmp_path,
        FLOE_STRIPE_SECRET_KEY=SECRET_KEY,
        FLOE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        FLOE_STRIPE_API_BASE=NOWHERE,
    )
    yield service
    dispose_service(service)


def customer(app, email: str = "ada@example.com", customer_id: str = "cus_1") -> int:
    """A user whose Stripe customer is ``customer_id``; their id."""
    with app.app_context():
        user = User(email=email, tenant="freelancers", password_hash="!")
        db.session.add(user)
        db.session.flush()
        db.session.add(StripeCustomer(id=customer_id, user_id=user.id))
        db.session.commit()
        return user.id


def value(app, user_id: int) -> dict[str, int]:
    with app.app_context():
        return ledger.lifetime_value(user_id)


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__tablename__: db.session.query(model).count()
            for model in (StripeEvent, Payment, Dispute, Subscription)
        }


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.get_json()


def test_a_signed_event_is_recorded(app, client) -> None:
    ada = customer(app)
    answer = ok(deliver(client, event("checkout.session.completed", checkout_session())))
    assert answer["result"] == "recorded"
    with app.app_context():
        payment = db.session.scalars(db.select(Payment)).one()
        assert (payment.user_id, payment.status, payment.amount, payment.currency) == (
            ada,
            "paid",
            9900,
            "usd",
        )
        assert (payment.payment_intent_id, payment.checkout_session_id) == ("pi_1", "cs_test_1")
        assert payment.plan == "freelancers/lifetime"
        assert db.session.get(StripeEvent, answer["received"]).type == "checkout.session.completed"
        paid = ledger.entitlement(ada)
        assert paid.paid and paid.until is None and paid.status == "purchase"
    assert value(app, ada) == {"usd": 9900}


def test_forged_stale_tampered_or_malformed_events_are_refused(app, client) -> None:
    customer(app)
    good = json.dumps(event("checkout.session.completed", checkout_session()))
    now = int(dt.datetime.now(dt.UTC).timestamp())
    tampered = good.replace('"amount_total": 9900', '"amount_total": 1')
    assert tampered != good
    malformed = json.dumps(
        event("checkout.session.completed", {**checkout_session(), "amount_total": "lots"})
    )
    refused = {
        "wrong secret": (good, signature(good, "whsec_someone_else")),
        "stale (an hour old)": (good, signature(good, timestamp=now - 3600)),
        "six minutes old": (good, signature(good, timestamp=now - 360)),
        "tampered body": (tampered, signature(good)),
        "no signature": (good, ""),
        "garbage header": (good, "v1=abc"),
        "not JSON": ("amount=9900", signature("amount=9900")),
        "signed, but not an event": ('{"id": "x"}', signature('{"id": "x"}')),
        "signed, but its object is malformed": (malformed, signature(malformed)),
    }
    for case, (body, header) in refused.items():
        response = client.post(
            "/app/pay/webhook",
            data=body,
            headers={"Host": "tallystack.example", "Stripe-Signature": header},
        )
        assert response.status_code == 400, case
        assert response.get_json()["error"], case
    huge = client.post(
        "/app/pay/webhook",
        data=good + " " * (1 << 20),
        headers={"Host": "tallystack.example", "Stripe-Signature": signature(good)},
    )
    assert huge.status_code == 400 and "larger than" in huge.get_json()["error"]
    assert counts(app) == {"stripe_events": 0, "payments": 0, "disputes": 0, "subscriptions": 0}
    # After all that, the genuine delivery still counts.
    assert ok(deliver(client, json.loads(good)))["result"] == "recorded"


def test_any_of_several_v1_signatures_will_do(app, client) -> None:
    """While a webhook secret is rolled, Stripe signs with both: one matching v1 is enough."""
    ada = customer(app)
    body = json.dumps(event("checkout.session.completed", checkout_session()))
    ours = signature(body)
    timestamp, mine = ours.split(",")
    other = signature(body, "whsec_the_old_one").split(",")[1]
    response = client.post(
        "/app/pay/webhook",
        data=body,
        headers={"Host": "tallystack.example", "Stripe-Signature": f"{timestamp},{other},{mine}"},
    )
    assert ok(response)["result"] == "recorded"
    assert value(app, ada) == {"usd": 9900}


def test_the_webhook_needs_no_csrf_token_but_other_posts_do(app, client) -> None:
    ok(deliver(client, event("customer.created", {"id": "cus_9", "object": "customer"})))
    assert client.post("/app/billing", headers={"Host": "tallystack.example"}).status_code == 400


def test_the_same_event_twice_changes_nothing(app, client) -> None:
    ada = customer(app)
    paid = event("checkout.session.completed", checkout_session())
    assert ok(deliver(client, paid))["result"] == "recorded"
    before = counts(app)
    assert ok(deliver(client, paid))["result"] == "duplicate"
    assert counts(app) == before
    assert value(app, ada) == {"usd": 9900}


def test_a_first_subscription_payment_reported_twice_counts_once(app, client) -> None:
    """checkout.session.completed and invoice.paid (and invoice.payment_succeeded) all report
    the subscription's first payment: one payment, keyed by its invoice."""
    ada = customer(app)
    session = checkout_session(
        mode="subscription",
        amount=1200,
        plan="freelancers/solo",
        payment_intent=None,
        invoice="in_1",
        subscription="sub_1",
    )
    for evt in (
        event("checkout.session.completed", session),
        event("invoice.paid", invoice()),
        event("invoice.payment_succeeded", invoice()),
        event("customer.subscription.created", subscription()),
    ):
        ok(deliver(client, evt))
    with app.app_context():
        payment = db.session.scalars(db.select(Payment)).one()
        assert (payment.invoice_id, payment.subscription_id, payment.plan) == (
            "in_1",
            "sub_1",
            "freelancers/solo",
        )
        paid = ledger.entitlement(ada)
        assert paid.paid and paid.status == "active" and paid.plan == "freelancers/solo"
        assert paid.until == dt.datetime.fromtimestamp(T0 + 30 * DAY, dt.UTC)
    assert value(app, ada) == {"usd": 1200}


def history(run: int) -> list[dict]:
    """A customer's events over two months, ids suffixed with ``run``: a subscription (started,
    paid, partly refunded twice, set to cancel, canceled) and a one-off purchase disputed, then
    won."""
    sub, inv, cus = f"sub_{run}", f"in_{run}", f"cus_{run}"
    pi_sub, pi_one, ch_sub, ch_one = f"pi_s{run}", f"pi_o{run}", f"ch_s{run}", f"ch_o{run}"
    started = subscription(sub, customer=cus, status="incomplete")
    return [
        event("customer.subscription.created", started, T0),
        event("customer.subscription.updated", {**started, "status": "active"}, T0 + 1),
        event(
            "checkout.session.completed",
            checkout_session(
                f"cs_s{run}",
                mode="subscription",
                amount=1200,
                customer=cus,
                plan="freelancers/solo",
                payment_intent=None,
                invoice=inv,
                subscription=sub,
            ),
            T0 + 2,
        ),
        event("invoice.paid", invoice(inv, customer=cus, subscription=sub), T0 + 2),
        event("invoice_payment.paid", invoice_payment(inv, pi_sub), T0 + 3),
        event(
            "charge.refunded",
            charge(ch_sub, intent=pi_sub, amount=1200, refunded=200, customer=cus),
            T0 + 10 * DAY,
        ),
        event(
            "charge.refunded",
            charge(ch_sub, intent=pi_sub, amount=1200, refunded=500, customer=cus),
            T0 + 11 * DAY,
        ),
        event(
            "customer.subscription.updated",
            subscription(sub, customer=cus, cancel_at_period_end=True),
            T0 + 12 * DAY,
        ),
        event(
            "customer.subscription.deleted",
            subscription(sub, customer=cus, status="canceled", cancel_at_period_end=True),
            T0 + 30 * DAY,
        ),
        event(
            "checkout.session.completed",
            checkout_session(f"cs_o{run}", customer=cus, payment_intent=pi_one),
            T0 + DAY,
        ),
        event(
            "charge.dispute.created",
            dispute(f"dp_{run}", charge_id=ch_one, intent=pi_one),
            T0 + 5 * DAY,
        ),
        event(
            "charge.dispute.closed",
            dispute(f"dp_{run}", charge_id=ch_one, intent=pi_one, status="won"),
            T0 + 20 * DAY,
        ),
    ]


def records_of(app, user_id: int, run: int) -> dict:
    """The user's records, with the run's suffix taken off every id."""

    def plain(value):
        return value.replace(f"_{run}", "_").replace(f"{run}", "") if value else value

    with app.app_context():
        payments = sorted(
            (
                p.status,
                p.amount,
                p.currency,
                p.amount_refunded,
                p.plan,
                plain(p.payment_intent_id),
                plain(p.invoice_id),
                plain(p.charge_id),
                plain(p.checkout_session_id),
                plain(p.subscription_id),
                as_utc(p.created_at),
            )
            for p in db.session.scalars(db.select(Payment).where(Payment.user_id == user_id))
        )
        subscriptions = [
            (plain(s.id), s.status, s.cancel_at_period_end, as_utc(s.current_period_end))
            for s in db.session.scalars(
                db.select(Subscription).where(Subscription.user_id == user_id)
            )
        ]
        disputes = [
            (plain(d.id), d.status, d.amount, d.payment_id is not None)
            for d in db.session.scalars(db.select(Dispute).where(Dispute.id.endswith(f"_{run}")))
        ]
        return {
            "payments": payments,
            "subscriptions": subscriptions,
            "disputes": disputes,
            "lifetime_value": ledger.lifetime_value(user_id),
            "entitlement": ledger.entitlement(user_id),
        }


def test_events_in_any_order_give_the_same_records(app, client) -> None:
    orders = {
        "as sent": lambda events: events,
        "reversed": lambda events: events[::-1],
        "shuffled": lambda events: random.Random(1).sample(events, len(events)),
        "shuffled again": lambda events: random.Random(7).sample(events, len(events)),
    }
    results = {}
    for run, (name, order) in enumerate(orders.items(), start=1):
        user = customer(app, f"user{run}@example.com", f"cus_{run}")
        for evt in order(history(run)):
            ok(deliver(client, evt))
        results[name] = records_of(app, user, run)
    first = results["as sent"]
    for name, result in results.items():
        assert result == first, name
    # And that one result is the right one: the subscription's payment of 12.00, 5.00 of it
    # refunded; the one-off 99.00, disputed and won back; the subscription canceled.
    assert [(p[0], p[1], p[3], p[5], p[6], p[7]) for p in first["payments"]] == [
        ("paid", 1200, 500, "pi_s", "in_", "ch_s"),
        ("paid", 9900, 0, "pi_o", None, None),
    ]
    assert first["subscriptions"] == [
        ("sub_", "canceled", True, dt.datetime.fromtimestamp(T0 + 30 * DAY, dt.UTC))
    ]
    assert first["disputes"] == [("dp_", "won", 9900, True)]
    assert first["lifetime_value"] == {"usd": 700 + 9900}
    assert first["entitlement"].paid and first["entitlement"].status == "purchase"


def test_refunds_and_disputes_lower_the_lifetime_value(app, client) -> None:
    ada = customer(app)
    ok(deliver(client, event("checkout.session.completed", checkout_session())))
    assert value(app, ada) == {"usd": 9900}
    ok(deliver(client, event("charge.refunded", charge(refunded=2000), T0 + DAY)))
    assert value(app, ada) == {"usd": 7900}
    # An inquiry moves no money; a chargeback takes its amount off until it is won.
    ok(deliver(client, event("charge.dispute.created", dispute(status="warning_needs_response"))))
    assert value(app, ada) == {"usd": 7900}
    opened = dispute(amount=7900, status="needs_response")
    ok(deliver(client, event("charge.dispute.updated", opened, T0 + 2 * DAY)))
    assert value(app, ada) == {"usd": 0}
    ok(deliver(client, event("charge.dispute.closed", {**opened, "status": "won"}, T0 + 9 * DAY)))
    assert value(app, ada) == {"usd": 7900}
    # A second purchase, in euros, charged back and lost: it stays off.
    euros = checkout_session("cs_2", amount=2900, currency="eur", payment_intent="pi_2")
    ok(deliver(client, event("checkout.session.completed", euros)))
    lost = dispute("dp_2", charge_id="ch_2", intent="pi_2", amount=2900, currency="eur")
    ok(deliver(client, event("charge.dispute.created", lost, T0 + DAY)))
    ok(deliver(client, event("charge.dispute.closed", {**lost, "status": "lost"}, T0 + 5 * DAY)))
    assert value(app, ada) == {"eur": 0, "usd": 7900}
    # A full refund: nothing left, and a one-off refunded in full gives no access.
    ok(deliver(client, event("charge.refunded", charge(refunded=9900), T0 + 10 * DAY)))
    assert value(app, ada) == {"eur": 0, "usd": 0}
    with app.app_context():
        assert not ledger.entitlement(ada).paid


def test_unknown_events_are_stored_and_acknowledged(app, client) -> None:
    answer = ok(deliver(client, event("customer.created", {"id": "cus_9", "object": "customer"})))
    assert answer["result"] == "stored"
    with app.app_context():
        stored = db.session.get(StripeEvent, answer["received"])
        assert stored.type == "customer.created" and '"cus_9"' in stored.payload
    assert counts(app)["payments"] == 0


def test_a_failed_renewal_mails_the_user_once(app, client) -> None:
    ada = customer(app)
    retry = T0 + 33 * DAY
    failed = event(
        "invoice.payment_failed",
        invoice("in_2", paid=False, reason="subscription_cycle", next_attempt=retry),
        T0 + 30 * DAY,
    )
    ok(deliver(client, failed))
    ok(deliver(client, failed))  # a replay: no second mail
    mails = [m for m in outbox(app) if m.to == "ada@example.com"]
    assert len(mails) == 1
    assert "$12.00" in mails[0].text and "/app/billing" in mails[0].text
    assert "try again on" in mails[0].text
    # The retry succeeds: paid, and stays paid if the failure is delivered late again.
    ok(deliver(client, event("invoice.paid", invoice("in_2", reason="subscription_cycle"))))
    late = event("invoice.payment_failed", failed["data"]["object"], T0 + 34 * DAY, "evt_late")
    ok(deliver(client, late))
    assert len([m for m in outbox(app) if m.to == "ada@example.com"]) == 1
    assert value(app, ada) == {"usd": 1200}
    # A failed first payment is not a renewal: Checkout tells the buyer there and then.
    first = invoice("in_3", paid=False, reason="subscription_create")
    ok(deliver(client, event("invoice.payment_failed", first)))
    assert len([m for m in outbox(app) if m.to == "ada@example.com"]) == 1


def test_simultaneous_deliveries_count_once(app) -> None:
    """Four deliveries at once: the same event twice, and two other reports of the same
    payment. One payment, counted once, whichever transaction wins."""
    ada = customer(app)
    session = checkout_session(
        mode="subscription",
        amount=1200,
        plan="freelancers/solo",
        payment_intent=None,
        invoice="in_1",
        subscription="sub_1",
    )
    events = [
        event("checkout.session.completed", session),
        event("checkout.session.completed", session),
        event("invoice.paid", invoice()),
        event("invoice.payment_succeeded", invoice()),
    ]
    start = threading.Barrier(len(events))
    answers: list = []

    def send(evt) -> None:
        client = app.test_client()
        start.wait()
        answers.append(deliver(client, evt))

    threads = [threading.Thread(target=send, args=(evt,)) for evt in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200] * 4
    assert sorted(a.get_json()["result"] for a in answers) == [
        "duplicate",
        "recorded",
        "recorded",
        "recorded",
    ]
    assert counts(app)["payments"] == 1 and counts(app)["stripe_events"] == 3
    assert value(app, ada) == {"usd": 1200}
