"""What the payment records add up to, on SQLite and PostgreSQL: a user's entitlement (paid or
not, until when) and each split-test bucket's revenue, from events sent to the webhook."""

from __future__ import annotations

import datetime as dt

import pytest

from dynamic.accounts.models import User
from dynamic.core.db import db
from dynamic.payments import ledger
from dynamic.payments.models import StripeCustomer
from dynamic.split_tests import revenue
from dynamic.split_tests.models import UserAssignment
from tests.conftest import dispose_service
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
    make_app,
    subscription,
)


@pytest.fixture
def app(database_url, tmp_path):
    service = make_app(
        database_url,
        tmp_path,
        FLOE_STRIPE_SECRET_KEY=SECRET_KEY,
        FLOE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        FLOE_STRIPE_API_BASE="http://127.0.0.1:9",
    )
    yield service
    dispose_service(service)


def user(app, name: str, buckets: dict[str, str] | None = None) -> int:
    """A user with the Stripe customer ``cus_<name>`` and split-test ``buckets``."""
    with app.app_context():
        row = User(email=f"{name}@example.com", tenant="freelancers", password_hash="!")
        db.session.add(row)
        db.session.flush()
        db.session.add(StripeCustomer(id=f"cus_{name}", user_id=row.id))
        for experiment, variant in (buckets or {}).items():
            db.session.add(
                UserAssignment(
                    user_id=row.id,
                    experiment=experiment,
                    variant=variant,
                    assigned_at=dt.datetime.fromtimestamp(T0, dt.UTC),
                )
            )
        db.session.commit()
        return row.id


def at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def entitlement(app, user_id: int, now: int = T0 + DAY) -> ledger.Entitlement:
    with app.app_context():
        return ledger.entitlement(user_id, now=at(now))


def test_a_subscription_entitles_while_in_good_standing(app, client) -> None:
    ada = user(app, "ada")
    assert entitlement(app, ada) == ledger.NOT_PAID
    sub = subscription(customer="cus_ada", status="trialing", period_end=T0 + 14 * DAY)
    deliver(client, event("customer.subscription.created", sub, T0))
    assert entitlement(app, ada) == ledger.Entitlement(
        True, at(T0 + 14 * DAY), "freelancers/solo", "trialing"
    )
    renewed = {**subscription(customer="cus_ada", period_end=T0 + 44 * DAY)}
    deliver(client, event("customer.subscription.updated", renewed, T0 + 14 * DAY))
    assert entitlement(app, ada).until == at(T0 + 44 * DAY)
    late = {**renewed, "status": "past_due"}
    deliver(client, event("customer.subscription.updated", late, T0 + 44 * DAY))
    assert entitlement(app, ada).paid and entitlement(app, ada).status == "past_due"
    unpaid = {**renewed, "status": "unpaid"}
    deliver(client, event("customer.subscription.updated", unpaid, T0 + 60 * DAY))
    assert not entitlement(app, ada).paid
    # An older snapshot delivered late does not bring it back.
    deliver(client, event("customer.subscription.updated", renewed, T0 + 20 * DAY, "evt_old"))
    assert not entitlement(app, ada).paid


def test_one_off_purchases_entitle_for_good_or_for_their_days(app, client) -> None:
    bob = user(app, "bob")
    ticket = checkout_session(
        "cs_pass",
        amount=2900,
        currency="eur",
        customer="cus_bob",
        plan="freelancers/pass",
        payment_intent="pi_pass",
        created=T0,
    )
    deliver(client, event("checkout.session.completed", ticket))
    assert entitlement(app, bob) == ledger.Entitlement(
        True, at(T0 + 30 * DAY), "freelancers/pass", "purchase"
    )
    assert not entitlement(app, bob, now=T0 + 31 * DAY).paid  # the pass ran out
    # Pending (a bank debit on its way) is not paid yet; a failure never is.
    debit = checkout_session(
        "cs_life", customer="cus_bob", payment_intent="pi_life", payment_status="unpaid"
    )
    deliver(client, event("checkout.session.completed", debit))
    assert entitlement(app, bob).plan == "freelancers/pass"
    deliver(
        client,
        event("checkout.session.async_payment_succeeded", {**debit, "payment_status": "paid"}),
    )
    assert entitlement(app, bob) == ledger.Entitlement(
        True, None, "freelancers/lifetime", "purchase"
    )
    bounced = checkout_session(
        "cs_bounce", customer="cus_bob", payment_intent="pi_bounce", payment_status="unpaid"
    )
    deliver(client, event("checkout.session.completed", bounced))
    deliver(client, event("checkout.session.async_payment_failed", bounced, T0 + DAY))
    with app.app_context():
        statuses = sorted(p.status for p in ledger.payments_of(bob))
        assert statuses == ["failed", "paid", "paid"]
        assert ledger.lifetime_value(bob) == {"eur": 2900, "usd": 9900}


def test_revenue_per_bucket(app, client) -> None:
    """Payments credit the buckets their users signed up in, net of refunds and disputes."""
    headline = "pricing-headline"
    ada = user(app, "ada", {headline: "control", "home-hero": "short"})
    bob = user(app, "bob", {headline: "control"})
    cat = user(app, "cat", {headline: "annual-first"})
    user(app, "dan", {headline: "annual-first"})  # never paid
    eve = user(app, "eve")  # in no test
    deliver(client, event("invoice.paid", invoice("in_ada", customer="cus_ada")))
    bought = checkout_session("cs_bob", customer="cus_bob", payment_intent="pi_bob")
    deliver(client, event("checkout.session.completed", bought))
    refund = charge("ch_bob", intent="pi_bob", refunded=9900, customer="cus_bob")
    deliver(client, event("charge.refunded", refund, T0 + DAY))
    euros = checkout_session(
        "cs_cat", amount=2900, currency="eur", customer="cus_cat", payment_intent="pi_cat"
    )
    deliver(client, event("checkout.session.completed", euros))
    chargeback = dispute("dp_cat", charge_id="ch_cat", intent="pi_cat", amount=1000, currency="eur")
    deliver(client, event("charge.dispute.created", chargeback, T0 + DAY))
    deliver(
        client,
        event(
            "checkout.session.completed",
            checkout_session("cs_eve", customer="cus_eve", payment_intent="pi_eve"),
        ),
    )
    with app.app_context():
        assert revenue.bucket_revenue(headline) == [
            revenue.BucketRevenue(headline, "annual-first", "eur", 1900, 1),
            revenue.BucketRevenue(headline, "control", "usd", 1200, 2),
        ]
        assert revenue.bucket_revenue("home-hero") == [
            revenue.BucketRevenue("home-hero", "short", "usd", 1200, 1)
        ]
        assert revenue.bucket_sizes(headline) == {
            (headline, "control"): 2,
            (headline, "annual-first"): 2,
        }
        values = ledger.lifetime_values([ada, bob, cat, eve])
    assert values == {ada: {"usd": 1200}, bob: {"usd": 0}, cat: {"eur": 1900}, eve: {"usd": 9900}}
    lines = app.test_cli_runner().invoke(args=["split", "revenue", headline]).output.splitlines()
    assert lines == [
        f"{headline}\tannual-first\t2\teur\t1\t1900",
        f"{headline}\tcontrol\t2\tusd\t2\t1200",
    ]
