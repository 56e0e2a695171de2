"""Checkout against a stand-in for Stripe's API on loopback, on SQLite and PostgreSQL: the
requests the service makes (price, customer, client_reference_id, URLs, idempotency key), what
it stores, how it fails, the success page that waits for the webhook, the billing portal; and
the settings and plans it refuses."""

from __future__ import annotations

import re
import textwrap

import pytest

from dynamic import create_app
from dynamic.accounts.models import User
from dynamic.core.config import DEVELOPMENT_WEBHOOK_SECRET, ConfigError, check_stripe
from dynamic.core.db import db
from dynamic.payments.models import CheckoutSession, StripeCustomer
from dynamic.payments.plans import format_money, load_plans
from floe.errors import SourceError
from tests.conftest import dispose_service
from tests.helpers.accounts import HOST, csrf_token, signup
from tests.helpers.stripe_stub import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    checkout_session,
    deliver,
    event,
    make_app,
    stripe_stub,  # noqa: F401  (the fixture)
    subscription,
)

ATTEMPT = re.compile(r'name="attempt" type="hidden" value="([^"]+)"')
SESSIONS, CUSTOMERS, PORTALS = (
    "/v1/checkout/sessions",
    "/v1/customers",
    "/v1/billing_portal/sessions",
)


@pytest.fixture
def app(database_url, tmp_path, stripe_stub):  # noqa: F811
    service = make_app(
        database_url,
        tmp_path,
        FLOE_STRIPE_SECRET_KEY=SECRET_KEY,
        FLOE_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        FLOE_STRIPE_API_BASE=stripe_stub.url,
    )
    yield service
    dispose_service(service)


def confirm_form(client, plan: str = "solo") -> dict[str, str]:
    """The fields of the confirm page's form, as a browser would post them."""
    page = client.get(f"/app/pay/checkout?plan={plan}", headers=HOST)
    assert page.status_code == 200, page.text
    return {
        "csrf_token": csrf_token(client, f"/app/pay/checkout?plan={plan}"),
        "plan": plan,
        "attempt": ATTEMPT.search(page.text).group(1),
    }


def buy(client, plan: str = "solo", form: dict[str, str] | None = None):
    return client.post("/app/pay/checkout", headers=HOST, data=form or confirm_form(client, plan))


def user_id(app, email: str = "ada@example.com") -> int:
    with app.app_context():
        return User.find(email).id


def rows(app, model) -> list:
    with app.app_context():
        return list(db.session.scalars(db.select(model)))


def test_the_pricing_link_sends_visitors_through_signup_and_back(client, stripe_stub) -> None:  # noqa: F811
    anonymous = client.get("/app/pay/checkout?plan=solo", headers=HOST)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/app/signup?next=/app/pay/checkout?plan%3Dsolo"
    signed_up = signup(client, next_="?next=/app/pay/checkout?plan%3Dsolo")
    assert signed_up.headers["Location"] == "/app/pay/checkout?plan=solo"
    page = client.get(signed_up.headers["Location"], headers=HOST)
    assert page.status_code == 200
    assert "Solo" in page.text and "$12.00 a month" in page.text
    assert 'action="/app/pay/checkout"' in page.text and 'name="csrf_token"' in page.text
    assert stripe_stub.calls == []  # nothing is asked of Stripe before the button


def test_checkout_creates_the_session_stripe_expects(app, client, stripe_stub) -> None:  # noqa: F811
    signup(client)
    ada = user_id(app)
    form = confirm_form(client, "solo")
    response = buy(client, form=form)
    assert response.status_code == 303
    assert response.headers["Location"] == "https://checkout.stripe.com/c/pay/cs_test_stub_2"
    [customer] = stripe_stub.made(CUSTOMERS)
    assert customer.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert customer.form["email"] == "ada@example.com"
    assert customer.form["metadata[floe_user_id]"] == str(ada)
    assert customer.headers["Idempotency-Key"].startswith(f"floe-customer-{ada}-")
    [session] = stripe_stub.made(SESSIONS)
    assert session.headers["Idempotency-Key"] == (
        f"floe-checkout-{ada}-freelancers/solo-{form['attempt']}"
    )
    assert session.form == {
        "mode": "subscription",
        "line_items[0][price]": "price_solo_monthly",
        "line_items[0][quantity]": "1",
        "customer": "cus_stub_1",
        "client_reference_id": str(ada),
        "success_url": "http://tallystack.example:5000/app/pay/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://tallystack.example:5000/app/pay/checkout?plan=solo&canceled=1",
        "metadata[floe_user_id]": str(ada),
        "metadata[floe_plan]": "freelancers/solo",
        "metadata[floe_tenant]": "freelancers",
        "subscription_data[metadata][floe_user_id]": str(ada),
        "subscription_data[metadata][floe_plan]": "freelancers/solo",
        "subscription_data[metadata][floe_tenant]": "freelancers",
    }
    assert [(c.id, c.user_id) for c in rows(app, StripeCustomer)] == [("cus_stub_1", ada)]
    [stored] = rows(app, CheckoutSession)
    assert (stored.id, stored.user_id, stored.plan, stored.status) == (
        "cs_test_stub_2",
        ada,
        "solo",
        "open",
    )
    # A second purchase, one-off this time: the same customer, no new one.
    assert buy(client, "lifetime").status_code == 303
    assert len(stripe_stub.made(CUSTOMERS)) == 1
    one_off = stripe_stub.made(SESSIONS)[1].form
    assert one_off["mode"] == "payment" and one_off["customer"] == "cus_stub_1"
    assert one_off["line_items[0][price]"] == "price_lifetime"
    assert one_off["payment_intent_data[metadata][floe_plan]"] == "freelancers/lifetime"


def test_a_double_click_makes_one_session(app, client, stripe_stub) -> None:  # noqa: F811
    signup(client)
    form = confirm_form(client)
    first, second = buy(client, form=form), buy(client, form=form)
    assert first.headers["Location"] == second.headers["Location"]
    keys = {call.headers["Idempotency-Key"] for call in stripe_stub.made(SESSIONS)}
    assert len(stripe_stub.made(SESSIONS)) == 2 and len(keys) == 1
    assert len(rows(app, CheckoutSession)) == 1
    # Coming back to the page later is a new attempt, with a new key.
    assert buy(client).headers["Location"] != first.headers["Location"]


def test_checkout_refuses_bad_input_and_asks_nothing_of_stripe(app, client, stripe_stub) -> None:  # noqa: F811
    assert client.get("/app/pay/checkout?plan=nope", headers=HOST).status_code == 404
    anonymous = client.post("/app/pay/checkout", headers=HOST, data={"plan": "solo"})
    assert anonymous.status_code == 400  # no CSRF token: refused before anything else
    signup(client)
    form = confirm_form(client)
    no_token = client.post("/app/pay/checkout", headers=HOST, data={**form, "csrf_token": ""})
    assert no_token.status_code == 400 and "Form expired" in no_token.text
    unknown = buy(client, form={**form, "plan": "platinum"})
    assert unknown.status_code == 404 and "no plan called “platinum”" in unknown.text
    # The agencies' plan is not for sale on the freelancers' site.
    assert buy(client, form={**form, "plan": "team"}).status_code == 404
    assert client.get("/app/pay/checkout?plan=team", headers=HOST).status_code == 404
    bad_attempt = buy(client, form={**form, "attempt": "short"})
    assert bad_attempt.status_code == 400
    assert stripe_stub.calls == []
    assert rows(app, CheckoutSession) == [] and rows(app, StripeCustomer) == []


def test_when_stripe_refuses_nothing_is_bought(app, client, stripe_stub) -> None:  # noqa: F811
    signup(client)
    stripe_stub.refuse[CUSTOMERS] = (
        401,
        {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
    )
    refused = buy(client)
    assert refused.status_code == 502 and "Nothing was charged" in refused.text
    assert rows(app, StripeCustomer) == [] and rows(app, CheckoutSession) == []
    # The customer is created, then the session refused (an archived price, say).
    del stripe_stub.refuse[CUSTOMERS]
    stripe_stub.refuse[SESSIONS] = (
        400,
        {"error": {"type": "invalid_request_error", "message": "No such price"}},
    )
    assert buy(client).status_code == 502
    assert rows(app, CheckoutSession) == []
    assert len(rows(app, StripeCustomer)) == 1  # kept: the next attempt reuses it
    del stripe_stub.refuse[SESSIONS]
    assert buy(client).status_code == 303
    assert len(stripe_stub.made(CUSTOMERS)) == 2  # the refused one, and the one kept


def test_the_success_page_waits_for_the_webhook(app, client, stripe_stub) -> None:  # noqa: F811
    signup(client)
    buy(client, "lifetime")
    [session] = rows(app, CheckoutSession)
    success = f"/app/pay/success?session_id={session.id}"
    pending = client.get(success, headers=HOST)
    assert pending.status_code == 200 and "Confirming your payment" in pending.text
    assert pending.headers["Refresh"] == "3"
    paid = checkout_session(session.id, customer="cus_stub_1", payment_intent="pi_9")
    deliver(client, event("checkout.session.completed", paid))
    done = client.get(success, headers=HOST)
    assert "Thank you" in done.text and "$99.00" in done.text and "Refresh" not in done.headers
    # A checkout left unpaid expires.
    buy(client, "lifetime")
    [later] = [s for s in rows(app, CheckoutSession) if s.id != session.id]
    unpaid = checkout_session(later.id, payment_status="unpaid")
    deliver(client, event("checkout.session.expired", unpaid))
    expired = client.get(f"/app/pay/success?session_id={later.id}", headers=HOST)
    assert "Checkout expired" in expired.text and "Refresh" not in expired.headers
    # Nobody else sees it, and made-up sessions are not found.
    other = app.test_client()
    signup(other, email="bob@example.com")
    assert other.get(success, headers=HOST).status_code == 404
    assert client.get("/app/pay/success?session_id=cs_nope", headers=HOST).status_code == 404
    assert client.get("/app/pay/success", headers=HOST).status_code == 404


def test_billing_opens_the_customer_portal(app, client, stripe_stub) -> None:  # noqa: F811
    signup(client)
    assert "Manage billing" not in client.get("/app/billing", headers=HOST).text
    token = csrf_token(client, "/app/account")
    first = client.post("/app/billing", headers=HOST, data={"csrf_token": token})
    assert first.status_code == 302  # no customer yet: nothing to manage
    assert "no billing account yet" in client.get("/app/billing", headers=HOST).text
    assert stripe_stub.made(PORTALS) == []
    buy(client)
    token = csrf_token(client, "/app/billing")
    portal = client.post("/app/billing", headers=HOST, data={"csrf_token": token})
    assert portal.status_code == 303
    assert portal.headers["Location"] == "https://billing.stripe.com/p/session/test_stub_3"
    [call] = stripe_stub.made(PORTALS)
    assert call.form == {
        "customer": "cus_stub_1",
        "return_url": "http://tallystack.example:5000/app/billing",
    }
    assert client.post("/app/billing", headers=HOST, data={}).status_code == 400


def test_a_subscriber_is_not_sold_a_second_subscription(app, client, stripe_stub) -> None:  # noqa: F811
    signup(client)
    buy(client)
    deliver(client, event("customer.subscription.created", subscription(customer="cus_stub_1")))
    page = client.get("/app/pay/checkout?plan=solo", headers=HOST)
    assert "You already have a subscription" in page.text and 'name="attempt"' not in page.text
    form = {"csrf_token": csrf_token(client, "/app/account"), "plan": "solo", "attempt": "a" * 32}
    assert buy(client, form=form).status_code == 409
    assert len(stripe_stub.made(SESSIONS)) == 1
    # A one-off purchase is still for sale.
    assert buy(client, "lifetime").status_code == 303


def test_local_payment_pages_exist_only_without_keys(client) -> None:
    signup(client)
    assert client.get("/app/pay/local/portal", headers=HOST).status_code == 404


def test_production_refuses_to_start_without_stripe_keys(tmp_path) -> None:
    production = {"FLOE_ENV": "production"}
    with pytest.raises(ConfigError, match="FLOE_STRIPE_SECRET_KEY"):
        check_stripe(production)
    with pytest.raises(ConfigError, match="FLOE_STRIPE_WEBHOOK_SECRET"):
        check_stripe({**production, "FLOE_STRIPE_SECRET_KEY": SECRET_KEY})
    with pytest.raises(ConfigError, match="FLOE_STRIPE_WEBHOOK_SECRET"):
        check_stripe(
            {
                **production,
                "FLOE_STRIPE_SECRET_KEY": SECRET_KEY,
                "FLOE_STRIPE_WEBHOOK_SECRET": DEVELOPMENT_WEBHOOK_SECRET,
            }
        )
    with pytest.raises(ConfigError, match="sk_"):
        check_stripe(
            {"FLOE_STRIPE_SECRET_KEY": "pk_test_public", "FLOE_STRIPE_WEBHOOK_SECRET": "w"}
        )
    with pytest.raises(ConfigError, match="FLOE_STRIPE_API_BASE"):
        check_stripe({"FLOE_STRIPE_API_BASE": "api.stripe.com"})
    check_stripe(
        {
            **production,
            "FLOE_STRIPE_SECRET_KEY": SECRET_KEY,
            "FLOE_STRIPE_WEBHOOK_SECRET": "whsec_x",
        }
    )
    check_stripe({"FLOE_ENV": "development"})  # development without keys: pays locally
    # create_app itself refuses, whatever else is right.
    with pytest.raises(ConfigError, match="FLOE_STRIPE_SECRET_KEY"):
        create_app(
            {
                "FLOE_ENV": "production",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
                "FLOE_STRIPE_SECRET_KEY": "",
            }
        )


def test_plans_are_checked_with_file_line_and_field(tmp_path) -> None:
    path = tmp_path / "plans.toml"
    path.write_text(
        textwrap.dedent(
            """
            [plans.freelancers.solo]
            name = "Solo"
            price = "prod_123"
            kind = "monthly"
            amount = 12.5
            currency = "USD"

            [plans.freelancers.pass]
            name = "Pass"
            price = "price_pass"
            kind = "one-off"
            interval = "month"
            amount = 100
            currency = "eur"

            [plans.nobody.x]
            name = "X"
            """
        )
    )
    with pytest.raises(SourceError) as raised:
        load_plans(path, ["freelancers", "agencies"], display_path="site/plans.toml")
    text = str(raised.value)
    for expected in (
        "site/plans.toml:4: plans.freelancers.solo.price: 'prod_123' is not a Stripe price id",
        "site/plans.toml:5: plans.freelancers.solo.kind: 'monthly' is not a kind",
        "site/plans.toml:6: plans.freelancers.solo.amount: must be a whole number above 0",
        "site/plans.toml:7: plans.freelancers.solo.currency: 'USD' is not a currency",
        "site/plans.toml:13: plans.freelancers.pass.interval: a one-off plan has no interval",
        "site/plans.toml:17: plans.nobody: no such tenant",
    ):
        assert expected in text, text
    assert load_plans(tmp_path / "missing.toml", ["freelancers"]) == {}


def test_amounts_are_shown_in_their_currency() -> None:
    assert format_money(1200, "usd") == "$12.00"
    assert format_money(990, "eur") == "€9.90"
    assert format_money(1500, "jpy") == "¥1,500"
    assert format_money(12345, "chf") == "123.45 CHF"
    assert format_money(1000, "kwd") == "1.000 KWD"
    assert format_money(-250, "gbp") == "-£2.50"


def test_the_pricing_pages_link_to_checkout_for_their_own_plans(sample_build) -> None:
    """The static pricing pages and site/plans.toml agree: every plan is offered, every link
    names a plan of that site."""
    import re as _re

    from dynamic.payments.plans import load_plans
    from tests.conftest import REPO

    plans = load_plans(REPO / "site" / "plans.toml", ["freelancers", "agencies"])
    for tenant in ("freelancers", "agencies"):
        html = (sample_build.site(tenant) / "pricing" / "index.html").read_text()
        linked = set(_re.findall(r'href="/app/pay/checkout\?plan=([a-z0-9-]+)"', html))
        assert linked == {plan.key for plan in plans.of(tenant)}, tenant
