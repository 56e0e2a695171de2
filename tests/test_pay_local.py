"""Development without Stripe keys, on SQLite and PostgreSQL: the whole flow offline. A visitor
in a split test signs up from a pricing link, buys, and sees the payment on the account page;
the admin sees the lifetime value, support's ``user show`` the buckets and payments, and the
bucket its revenue. The local portal cancels, or fails a renewal (which mails the user)."""

from __future__ import annotations

import json
import re

import pytest

from dynamic.accounts.models import User
from dynamic.core.db import db
from dynamic.payments import ledger
from dynamic.payments.models import Payment, StripeEvent
from dynamic.split_tests import revenue as split_revenue
from tests.conftest import dispose_service
from tests.helpers.accounts import HOST, PASSWORD, csrf_token, login, me, outbox, post_form, signup
from tests.helpers.split import BROWSER
from tests.helpers.split import PRICING_HEADLINE as EXPERIMENTS
from tests.helpers.stripe_stub import make_app

ATTEMPT = re.compile(r'name="attempt" type="hidden" value="([^"]+)"')


@pytest.fixture
def app(database_url, tmp_path):
    service = make_app(
        database_url,
        tmp_path,
        site_files={"experiments.toml": EXPERIMENTS},
        FLOE_STRIPE_SECRET_KEY="",
        FLOE_STRIPE_WEBHOOK_SECRET="",
    )
    yield service
    dispose_service(service)


def buy(client, plan: str):
    """Confirm ``plan``, go to the local checkout page; its response and the page's path."""
    confirm = f"/app/pay/checkout?plan={plan}"
    page = client.get(confirm, headers=HOST)
    assert page.status_code == 200 and "test payment" in page.text
    form = {
        "csrf_token": csrf_token(client, confirm),
        "plan": plan,
        "attempt": ATTEMPT.search(page.text).group(1),
    }
    to_checkout = client.post("/app/pay/checkout", headers=HOST, data=form)
    assert to_checkout.status_code == 303
    return to_checkout.headers["Location"]


def pay(client, checkout: str, outcome: str = "pay"):
    page = client.get(checkout, headers=HOST)
    assert page.status_code == 200 and "Test payment" in page.text
    token = csrf_token(client, checkout)
    return client.post(checkout, headers=HOST, data={"csrf_token": token, "outcome": outcome})


def test_sign_up_buy_and_see_it_everywhere(app, client) -> None:
    # A visitor of the pricing page under test, then a click on its "Buy" link.
    assigned = client.get("/app/split/assign?exp=pricing-headline", headers=BROWSER).get_json()
    variant = assigned["variant"]
    link = client.get("/app/pay/checkout?plan=lifetime", headers=HOST)
    assert link.headers["Location"].startswith("/app/signup?next=")
    back = signup(client, next_="?next=/app/pay/checkout?plan%3Dlifetime")
    assert back.headers["Location"] == "/app/pay/checkout?plan=lifetime"

    paid = pay(client, buy(client, "lifetime"))
    assert paid.status_code == 303
    assert paid.headers["Location"].startswith(
        "http://tallystack.example:5000/app/pay/success?session_id=cs_local_"
    )
    assert "Thank you" in client.get(paid.headers["Location"], headers=HOST).text
    account = client.get("/app/account", headers=HOST).text
    assert "Lifetime" in account and "$99.00" in account and "paid for good" in account
    assert me(client)["paid"] is True and me(client)["plan"] == "lifetime"

    # A subscription too, through the same local checkout.
    pay(client, buy(client, "solo"))
    billing = client.get("/app/billing", headers=HOST).text
    assert "Solo" in billing and "active" in billing and "$12.00" in billing
    with app.app_context():
        assert db.session.query(StripeEvent).count() == 5  # 1 + 4 events, all signed, stored
        ada = User.find("ada@example.com").id

    assert client.get("/app/admin/payments", headers=HOST).status_code == 403
    # The admin: the user's lifetime value in the list and on their page, every payment.
    runner = app.test_cli_runner()
    created = runner.invoke(args=["create-admin", "root@example.com", "--password", PASSWORD])
    assert created.exit_code == 0, created.output
    admin = app.test_client()
    login(admin, email="root@example.com")
    users = admin.get("/app/admin/", headers=HOST).text
    assert re.search(r"ada@example\.com.*?\$111\.00", users, re.S)
    page = admin.get(f"/app/admin/users/{ada}", headers=HOST).text
    assert "$111.00" in page and f"pricing-headline: {variant}" in page
    payments = admin.get("/app/admin/payments", headers=HOST).text
    assert payments.count("ada@example.com") == 2 and "$12.00" in payments

    # Support's view, as JSON.
    shown = runner.invoke(args=["user", "show", "ADA@example.com", "--json"])
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.output)
    assert summary["email"] == "ada@example.com"
    assert summary["buckets"] == {"pricing-headline": variant}
    assert summary["lifetime_value"] == {"usd": 11100}
    assert summary["paid"] is True
    assert sorted((p["plan"], p["amount"], p["status"]) for p in summary["payments"]) == [
        ("freelancers/lifetime", 9900, "paid"),
        ("freelancers/solo", 1200, "paid"),
    ]
    text = runner.invoke(args=["user", "show", "ada@example.com"]).output
    assert f"Buckets: pricing-headline={variant}" in text and "Lifetime value: $111.00" in text

    # The bucket the user signed up in is credited with their payments.
    with app.app_context():
        [row] = split_revenue.bucket_revenue("pricing-headline")
        assert (row.variant, row.currency, row.revenue, row.payers) == (variant, "usd", 11100, 1)
    revenue = runner.invoke(args=["split", "revenue", "pricing-headline"]).output
    assert f"pricing-headline\t{variant}\t1\tusd\t1\t11100" in revenue


def test_support_asks_about_an_unknown_email(app) -> None:
    result = app.test_cli_runner().invoke(args=["user", "show", "nobody@example.com"])
    assert result.exit_code == 1 and "no account has the email" in result.output


def test_canceling_at_checkout_charges_nothing(app, client) -> None:
    signup(client)
    checkout = buy(client, "lifetime")
    canceled = pay(client, checkout, outcome="cancel")
    assert canceled.headers["Location"] == (
        "http://tallystack.example:5000/app/pay/checkout?plan=lifetime&canceled=1"
    )
    assert "nothing was charged" in client.get(canceled.headers["Location"], headers=HOST).text
    with app.app_context():
        assert db.session.query(Payment).count() == 0
    # Someone else cannot pay with (or look at) this checkout, nor with a forged one.
    other = app.test_client()
    signup(other, email="bob@example.com")
    assert other.get(checkout, headers=HOST).status_code == 404
    assert client.get(checkout[:-3] + "abc", headers=HOST).status_code == 404


def test_the_local_portal_fails_a_renewal_and_cancels(app, client) -> None:
    signup(client)
    pay(client, buy(client, "solo"))
    token = csrf_token(client, "/app/billing")
    portal = client.post("/app/billing", headers=HOST, data={"csrf_token": token})
    assert portal.status_code == 303 and portal.headers["Location"] == "/app/pay/local/portal"
    page = client.get("/app/pay/local/portal", headers=HOST).text
    [action] = re.findall(r'action="(/app/pay/local/portal/[^"]+)"', page)
    token = csrf_token(client, "/app/pay/local/portal")

    client.post(action, headers=HOST, data={"csrf_token": token, "action": "fail"})
    [mail] = [m for m in outbox(app) if "did not go through" in m.subject]
    assert mail.to == "ada@example.com" and "$12.00" in mail.text
    assert me(client)["paid"] is True  # past due: Stripe retries, access stays meanwhile
    assert "the last renewal failed" in client.get("/app/account", headers=HOST).text

    client.post(action, headers=HOST, data={"csrf_token": token, "action": "cancel"})
    assert me(client)["paid"] is False
    assert "You have no paid plan" in client.get("/app/account", headers=HOST).text
    with app.app_context():
        assert ledger.lifetime_value(User.find("ada@example.com").id) == {"usd": 1200}


def test_a_renewing_subscription_must_be_canceled_before_deleting_the_account(app, client) -> None:
    signup(client)
    pay(client, buy(client, "solo"))
    data = {"delete-current_password": PASSWORD, "delete-confirm": "y"}
    refused = post_form(client, "/app/account", "/app/account/delete", **data)
    assert refused.status_code == 400 and "cancel it under Billing first" in refused.text
    assert me(client)["authenticated"] is True
    token = csrf_token(client, "/app/billing")
    client.post("/app/billing", headers=HOST, data={"csrf_token": token})
    [action] = re.findall(
        r'action="(/app/pay/local/portal/[^"]+)"',
        client.get("/app/pay/local/portal", headers=HOST).text,
    )
    token = csrf_token(client, "/app/pay/local/portal")
    client.post(action, headers=HOST, data={"csrf_token": token, "action": "cancel"})
    assert post_form(client, "/app/account", "/app/account/delete", **data).status_code == 302
    with app.app_context():
        assert ledger.lifetime_value(db.session.scalars(db.select(User)).one().id) == {"usd": 1200}
