"""The calls the service makes to Stripe: create a customer, a Checkout Session, a Customer
Portal session. Nothing else talks to Stripe's API; what Stripe says back comes by webhook.

``FLOE_STRIPE_API_BASE`` points the client at another API base (a stand-in on loopback in the
tests, a proxy in staging). Without a key (development only) a :class:`LocalGateway` answers
instead: its checkout is a page of this service that pays by sending itself signed webhook
events (dynamic/payments/local_stripe.py).
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

import stripe
from flask import Flask, current_app, url_for
from itsdangerous import URLSafeSerializer

from dynamic.core.config import DEVELOPMENT_WEBHOOK_SECRET, check_stripe

EXTENSION_KEY = "floe.stripe"
#: A payment page waits on these calls: bounded, never Stripe's default of 80 seconds.
TIMEOUT_SECONDS = 20
#: Retries are safe: every call that creates something carries an idempotency key.
NETWORK_RETRIES = 2


class PaymentServiceError(RuntimeError):
    """Stripe refused a call or did not answer; nothing was bought. ``str()`` is for logs."""


class Gateway(Protocol):
    def create_customer(self, params: dict[str, Any], idempotency_key: str) -> str:
        """The new customer's id."""
        ...

    def create_checkout_session(
        self, params: dict[str, Any], idempotency_key: str
    ) -> tuple[str, str]:
        """The session's id and the URL to send the buyer to."""
        ...

    def create_portal_session(self, customer: str, return_url: str) -> str:
        """The URL of the customer's billing portal."""
        ...


class StripeGateway:
    """Stripe's API through the official client (one per process: it is thread-safe)."""

    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        )

    def create_customer(self, params: dict[str, Any], idempotency_key: str) -> str:
        customer = self._call(
            "create a customer", self.client.v1.customers.create, params, idempotency_key
        )
        return customer.id

    def create_checkout_session(
        self, params: dict[str, Any], idempotency_key: str
    ) -> tuple[str, str]:
        session = self._call(
            "create a Checkout Session",
            self.client.v1.checkout.sessions.create,
            params,
            idempotency_key,
        )
        return session.id, session.url

    def create_portal_session(self, customer: str, return_url: str) -> str:
        portal = self._call(
            "open the billing portal",
            self.client.v1.billing_portal.sessions.create,
            {"customer": customer, "return_url": return_url},
            None,
        )
        return portal.url

    @staticmethod
    def _call(what: str, method: Any, params: dict[str, Any], key: str | None) -> Any:
        try:
            return method(params=params, options={"idempotency_key": key} if key else {})
        except stripe.StripeError as error:
            status = error.http_status or "no answer"
            raise PaymentServiceError(f"Stripe: could not {what} ({status}): {error}") from error


class LocalGateway:
    """Development without Stripe keys: ids made from the idempotency keys (so a repeated
    call gives the same object, as Stripe's would) and pages of this service as Stripe's."""

    def create_customer(self, params: dict[str, Any], idempotency_key: str) -> str:
        return "cus_local_" + _digest(idempotency_key, 14)

    def create_checkout_session(
        self, params: dict[str, Any], idempotency_key: str
    ) -> tuple[str, str]:
        session = "cs_local_" + _digest(idempotency_key, 24)
        token = local_serializer().dumps({"session": session, **params})
        return session, url_for("pay_local.checkout", token=token)

    def create_portal_session(self, customer: str, return_url: str) -> str:
        return url_for("pay_local.portal")


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def local_serializer() -> URLSafeSerializer:
    """Signs what the local checkout page needs, so nobody can pay for someone else."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="floe.pay.local")


def init_app(app: Flask) -> None:
    check_stripe(app.config)
    key = app.config.get("FLOE_STRIPE_SECRET_KEY")
    app.extensions[EXTENSION_KEY] = (
        StripeGateway(key, app.config.get("FLOE_STRIPE_API_BASE")) if key else LocalGateway()
    )


def gateway() -> Gateway:
    return current_app.extensions[EXTENSION_KEY]


def is_local_app(app: Flask) -> bool:
    """True in development without Stripe keys: payments complete on this service's pages."""
    return isinstance(app.extensions[EXTENSION_KEY], LocalGateway)


def is_local() -> bool:
    return is_local_app(current_app)


def webhook_secret() -> str:
    """The secret webhook signatures are checked against."""
    return current_app.config.get("FLOE_STRIPE_WEBHOOK_SECRET") or DEVELOPMENT_WEBHOOK_SECRET
