"""Stripe, played on loopback for the payment tests: a small HTTP server standing in for its API
(reached through the ``stripe`` package's API base setting), builders for the objects its
webhook events carry, and delivery of events signed with the package's own signing helper."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import stripe

from tests.conftest import REPO, TENANT_HOST, migrated_service

SECRET_KEY = "sk_test_floe_tests"
WEBHOOK_SECRET = "whsec_floe_tests_0123456789"
#: Times of the events and objects in the tests (November 2026): fixed, never the clock.
T0 = 1_795_000_000
DAY = 86400

PLANS = """
[plans.freelancers.solo]
name = "Solo"
price = "price_solo_monthly"
kind = "recurring"
interval = "month"
amount = 1200
currency = "usd"

[plans.freelancers.lifetime]
name = "Lifetime"
price = "price_lifetime"
kind = "one-off"
amount = 9900
currency = "usd"

[plans.freelancers.pass]
name = "Thirty-day pass"
price = "price_pass"
kind = "one-off"
amount = 2900
currency = "eur"
access_days = 30

[plans.agencies.team]
name = "Team"
price = "price_team"
kind = "recurring"
interval = "month"
amount = 4500
currency = "usd"
"""


def site_with_plans(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """A copy of the repository's site/ with the tests' plans (and other ``files``)."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "site", site)
    for name, text in {"plans.toml": PLANS, **(files or {})}.items():
        (site / name).write_text(text)
    return site


def make_app(
    database_url: str, tmp_path: Path, site_files: dict[str, str] | None = None, **config: Any
):
    """The service on a migrated database, with the tests' plans; ``config`` on top."""
    site = str(site_with_plans(tmp_path, site_files))
    return migrated_service(database_url, **{"FLOE_SITE_DIR": site, **config})


# --- the API stand-in ---------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    #: The form-encoded body, keys as Stripe's client writes them: line_items[0][price].
    form: dict[str, str]


@dataclass
class StripeStub:
    """Answers the calls the service makes, as Stripe would, and remembers them. A repeated
    idempotency key gets the first answer again, as from Stripe."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    #: Calls to these paths get this (status, error body) instead.
    refuse: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    _numbers: Iterator[int] = field(default_factory=lambda: count(1))

    def answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        key = call.headers.get("Idempotency-Key")
        if key and key in self._answers:
            return 200, self._answers[key]
        if call.path in self.refuse:
            return self.refuse[call.path]
        number = next(self._numbers)
        if call.path == "/v1/customers":
            body = {"id": f"cus_stub_{number}", "object": "customer", "email": call.form["email"]}
        elif call.path == "/v1/checkout/sessions":
            body = {
                "id": f"cs_test_stub_{number}",
                "object": "checkout.session",
                "url": f"https://checkout.stripe.com/c/pay/cs_test_stub_{number}",
            }
        elif call.path == "/v1/billing_portal/sessions":
            body = {
                "id": f"bps_stub_{number}",
                "object": "billing_portal.session",
                "url": f"https://billing.stripe.com/p/session/test_stub_{number}",
            }
        else:
            return 404, {"error": {"type": "invalid_request_error", "message": "no such path"}}
        if key:
            self._answers[key] = body
        return 200, body

    def made(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == path]


@pytest.fixture
def stripe_stub() -> Iterator[StripeStub]:
    stub = StripeStub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            call = Call("POST", self.path, dict(self.headers.items()), dict(parse_qsl(body, True)))
            stub.calls.append(call)
            status, answer = stub.answer(call)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Stripe-Should-Retry", "false")  # errors fail at once
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- events -------------------------------------------------------------------------------------


def event(kind: str, obj: dict[str, Any], created: int = T0, ident: str | None = None) -> dict:
    return {
        "id": ident or f"evt_{kind.replace('.', '_')}_{obj['id']}_{created}",
        "object": "event",
        "api_version": "2026-08-26.dahlia",
        "type": kind,
        "created": created,
        "livemode": False,
        "data": {"object": obj},
    }


def signature(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header, by the stripe package's own helper."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)


def deliver(client, evt: dict[str, Any], **headers: str):
    """POST ``evt`` to the webhook endpoint as Stripe does, signed now."""
    payload = json.dumps(evt)
    headers.setdefault("Stripe-Signature", signature(payload))
    return client.post(
        "/app/pay/webhook",
        data=payload,
        headers={"Host": TENANT_HOST, "Content-Type": "application/json", **headers},
    )


def checkout_session(
    ident: str = "cs_test_1",
    *,
    mode: str = "payment",
    amount: int = 9900,
    currency: str = "usd",
    customer: str = "cus_1",
    user_id: int | None = None,
    plan: str | None = "freelancers/lifetime",
    payment_intent: str | None = "pi_1",
    invoice: str | None = None,
    subscription: str | None = None,
    payment_status: str = "paid",
    created: int = T0,
) -> dict[str, Any]:
    metadata = {"floe_plan": plan} if plan else {}
    return {
        "id": ident,
        "object": "checkout.session",
        "mode": mode,
        "status": "complete",
        "payment_status": payment_status,
        "amount_total": amount,
        "currency": currency,
        "customer": customer,
        "client_reference_id": str(user_id) if user_id is not None else None,
        "payment_intent": payment_intent,
        "invoice": invoice,
        "subscription": subscription,
        "metadata": metadata,
        "created": created,
    }


def invoice(
    ident: str = "in_1",
    *,
    amount: int = 1200,
    currency: str = "usd",
    customer: str = "cus_1",
    subscription: str = "sub_1",
    price: str = "price_solo_monthly",
    paid: bool = True,
    reason: str = "subscription_create",
    next_attempt: int | None = None,
    created: int = T0,
) -> dict[str, Any]:
    """An invoice in the current API's shape: no PaymentIntent, the subscription under parent."""
    return {
        "id": ident,
        "object": "invoice",
        "status": "paid" if paid else "open",
        "amount_paid": amount if paid else 0,
        "amount_due": amount,
        "currency": currency,
        "customer": customer,
        "billing_reason": reason,
        "next_payment_attempt": next_attempt,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription, "metadata": {}},
        },
        "lines": {"object": "list", "data": [{"pricing": {"price_details": {"price": price}}}]},
        "created": created,
    }


def invoice_payment(
    invoice_id: str = "in_1",
    intent: str = "pi_sub_1",
    amount: int = 1200,
    currency: str = "usd",
    created: int = T0,
) -> dict[str, Any]:
    return {
        "id": f"inpay_{invoice_id}",
        "object": "invoice_payment",
        "invoice": invoice_id,
        "status": "paid",
        "amount_paid": amount,
        "amount_requested": amount,
        "currency": currency,
        "payment": {"type": "payment_intent", "payment_intent": intent},
        "created": created,
    }


def charge(
    ident: str = "ch_1",
    *,
    intent: str = "pi_1",
    amount: int = 9900,
    refunded: int = 0,
    currency: str = "usd",
    customer: str = "cus_1",
    created: int = T0,
) -> dict[str, Any]:
    return {
        "id": ident,
        "object": "charge",
        "status": "succeeded",
        "paid": True,
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "refunded": refunded == amount,
        "currency": currency,
        "customer": customer,
        "payment_intent": intent,
        "metadata": {},
        "created": created,
    }


def dispute(
    ident: str = "dp_1",
    *,
    charge_id: str = "ch_1",
    intent: str = "pi_1",
    amount: int = 9900,
    currency: str = "usd",
    status: str = "needs_response",
    created: int = T0,
) -> dict[str, Any]:
    return {
        "id": ident,
        "object": "dispute",
        "amount": amount,
        "currency": currency,
        "charge": charge_id,
        "payment_intent": intent,
        "status": status,
        "reason": "fraudulent",
        "created": created,
    }


def subscription(
    ident: str = "sub_1",
    *,
    status: str = "active",
    customer: str = "cus_1",
    price: str = "price_solo_monthly",
    period_end: int = T0 + 30 * DAY,
    cancel_at_period_end: bool = False,
    created: int = T0,
) -> dict[str, Any]:
    """A subscription in the current API's shape: the period end on its item."""
    return {
        "id": ident,
        "object": "subscription",
        "status": status,
        "customer": customer,
        "cancel_at_period_end": cancel_at_period_end,
        "metadata": {},
        "items": {
            "object": "list",
            "data": [{"price": {"id": price}, "current_period_end": period_end}],
        },
        "created": created,
    }
