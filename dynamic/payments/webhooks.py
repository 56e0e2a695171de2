"""Stripe's webhook events: the endpoint they are posted to (:func:`webhook`, POST
/app/pay/webhook), verified, stored once, applied to the payment records.

- Authentic: ``stripe.Webhook.construct_event`` checks the ``Stripe-Signature`` header over the
  raw body (HMAC-SHA256, any of several ``v1`` signatures, timestamps up to 300 s old).
- Exactly once: the event id is the primary key of ``stripe_events``, inserted in the same
  transaction as the event's effects. A second delivery finds it and changes nothing; two at
  once collide on the key and one rolls back.
- In any order: each handler turns its object into the state it reports, and
  dynamic/payments/payment_records.py merges states by rules whose result does not depend on
  their order.
- Whole or not at all: a field that cannot be stored (an id longer than its column, a NUL, an
  amount or a time out of range, a value of the wrong type) refuses the event with 400 and
  records nothing, on SQLite as on PostgreSQL. Refusing rather than acknowledging is Stripe's
  own contract for an event an endpoint could not process: Stripe retries it for up to three
  days and shows it as failed in the Dashboard, so an authentic event that this version cannot
  store (Stripe's ids are documented as at most 255 characters, the columns' length) is logged
  as an error and comes again once the service is fixed, instead of being lost; a forged one
  never gets past the signature.
- An insert that loses a race with another delivery (IntegrityError) makes the whole event run
  again, in a new transaction, where it finds the other's row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import stripe
from flask import current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dynamic.accounts.models import User
from dynamic.core.db import db
from dynamic.core.inputs import Unstorable, check_storable, parse_int
from dynamic.core.security import csrf
from dynamic.payments import mails
from dynamic.payments.ledger import plans
from dynamic.payments.models import StripeCustomer, StripeEvent
from dynamic.payments.payment_records import (
    DISPUTE_RANK,
    SUBSCRIPTION_RANK,
    DisputeState,
    PaymentState,
    SubscriptionState,
    mark_checkout,
    save_dispute,
    save_payment,
    save_subscription,
)
from dynamic.payments.stripe_client import webhook_secret

TOLERANCE_SECONDS = 300
#: Each retry follows another delivery's commit; past this, a 500 makes Stripe retry later.
ATTEMPTS = 5

After = list[Callable[[], None]]


class EventRejected(ValueError):
    """Not an authentic, well-formed Stripe event: answered with 400, nothing recorded.
    ``authentic``: the signature was good (the event is Stripe's, or made with our secret)."""

    def __init__(self, message: str, authentic: bool = True) -> None:
        super().__init__(message)
        self.authentic = authentic


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    created: dt.datetime
    object: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    event_id: str
    type: str
    #: "recorded" (applied), "stored" (a type this service does not act on) or "duplicate".
    result: str


#: Stripe's events are a few kilobytes; a larger body is not read further.
MAX_EVENT_BYTES = 1 << 20


@csrf.exempt
def webhook() -> Any:
    """Stripe's events: the signature, not a CSRF token, proves where they come from."""
    body = request.stream.read(MAX_EVENT_BYTES + 1)
    if len(body) > MAX_EVENT_BYTES:
        return jsonify(error=f"larger than {MAX_EVENT_BYTES} bytes: not a Stripe event"), 400
    try:
        outcome = receive(body, request.headers.get("Stripe-Signature"))
    except EventRejected as error:
        # An authentic event refused (one this service can never store) is an error to look
        # at: Stripe retries it for three days, time to fix and let a retry through.
        log = current_app.logger.error if error.authentic else current_app.logger.warning
        log("stripe webhook refused: %s", error)
        return jsonify(error=str(error)), 400
    return jsonify(received=outcome.event_id, result=outcome.result)


def receive(payload: bytes, signature: str | None) -> Outcome:
    """Verify a webhook delivery and record its event; raises :class:`EventRejected`."""
    try:
        verified = stripe.Webhook.construct_event(
            payload, signature, webhook_secret(), tolerance=TOLERANCE_SECONDS
        )
        event = verified.to_dict()
    except stripe.SignatureVerificationError as error:
        raise EventRejected(f"signature not valid: {error}", authentic=False) from None
    except (ValueError, TypeError, AttributeError, RecursionError) as error:
        # not UTF-8 (checked before the signature), not JSON (or nested past what the parser
        # follows), no object: nothing Stripe sends, so not counted as authentic
        raise EventRejected(f"not a Stripe event: {error}", authentic=False) from None
    return record(event, payload.decode("utf-8"))


def record(event: dict[str, Any], raw: str | None = None) -> Outcome:
    """Store ``event`` (once) and apply it, in one transaction."""
    parsed = _parse(event)
    handler = HANDLERS.get(parsed.type)
    for attempt in range(1, ATTEMPTS + 1):
        after: After = []
        try:
            if db.session.get(StripeEvent, parsed.id) is not None:
                db.session.rollback()
                return Outcome(parsed.id, parsed.type, "duplicate")
            db.session.add(
                StripeEvent(
                    id=parsed.id,
                    type=parsed.type,
                    created_at=parsed.created,
                    payload=raw if raw is not None else json.dumps(event),
                )
            )
            db.session.flush()  # a simultaneous delivery of this event stops here
            if handler is not None:
                _apply(handler, parsed, after)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if attempt == ATTEMPTS:
                raise
            continue  # another delivery inserted a row first: start again, and find it
        except BaseException:
            db.session.rollback()
            raise
        for action in after:  # after the commit: a mail is sent once, for a recorded event
            action()
        return Outcome(parsed.id, parsed.type, "recorded" if handler else "stored")
    raise AssertionError("unreachable")


def _parse(sent: dict[str, Any]) -> Event:
    data = sent.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    ident, kind, created = sent.get("id"), sent.get("type"), sent.get("created")
    if not (
        isinstance(ident, str)
        and ident
        and isinstance(kind, str)
        and kind
        and isinstance(created, int)
        and isinstance(obj, dict)
    ):
        raise EventRejected("an event needs an id, a type, created and data.object")
    try:
        event = Event(ident, kind, _time(created), obj)
        check_storable(StripeEvent, {"id": ident, "type": kind, "created_at": event.created})
    except ValueError as error:
        raise EventRejected(f"event {ident[:64]!r}: {error}") from None
    return event


def _apply(handler: Callable[[Event, After], None], event: Event, after: After) -> None:
    try:
        handler(event, after)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        if isinstance(error, EventRejected):
            raise
        if isinstance(error, Unstorable):
            raise EventRejected(f"{event.type}: {error}") from None
        what = event.object.get("id", "its object")
        raise EventRejected(
            f"{event.type} {what}: missing or malformed field ({type(error).__name__}: {error})"
        ) from None


# --- reading Stripe's objects -----------------------------------------------------------------


def _time(epoch: int) -> dt.datetime:
    """A Stripe timestamp; ValueError when it is no time a datetime (or a column) can hold."""
    try:
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"time {epoch!r} out of range") from None


def _id(value: Any) -> str | None:
    """An expandable field: an id, or the object with its id."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _amount(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"amount {value!r}")
    return value


def _currency(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 3:
        raise ValueError(f"currency {value!r}")
    return value.lower()


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _user_id(customer: str | None, *references: Any) -> int | None:
    """The user behind a Stripe object: by its customer, else by the user id we gave Stripe
    (``client_reference_id``, ``metadata.floe_user_id``)."""
    if customer:
        owner = db.session.scalar(
            select(StripeCustomer.user_id).where(StripeCustomer.id == customer)
        )
        if owner is not None:
            return owner
    for reference in references:
        number = parse_int(reference, minimum=1)
        if number is not None and db.session.get(User, number) is not None:
            return number
    return None


def _plan(metadata: dict[str, Any], prices: Iterable[str | None] = ()) -> str | None:
    """The plan ("tenant/key"): from our metadata, else from the price charged."""
    known = plans()
    ref = metadata.get("floe_plan")
    if isinstance(ref, str) and known.by_ref(ref) is not None:
        return ref
    tenant = metadata.get("floe_tenant")
    for price in prices:
        plan = known.by_price(price, tenant) if price else None
        if plan is not None:
            return plan.ref
    return None


def _line_prices(lines: Any) -> list[str | None]:
    """Price ids of invoice lines or subscription items, in the old and the new API shape."""
    data = lines.get("data") if isinstance(lines, dict) else None
    prices = []
    for line in data if isinstance(data, list) else []:
        if not isinstance(line, dict):
            continue
        details = (line.get("pricing") or {}).get("price_details") or {}
        prices.append(_id(details.get("price")) or _id(line.get("price")))
    return prices


def on_checkout_session(event: Event, after: After) -> None:
    """A Checkout Session completed (paid, or waiting for a bank debit), or its delayed payment
    succeeded or failed, or it expired unpaid."""
    session = event.object
    expired = event.type == "checkout.session.expired"
    mark_checkout(session["id"], "expired" if expired else "complete")
    paid = session.get("payment_status")
    if expired or paid == "no_payment_required":
        return  # nothing paid: a trial's subscription comes with its own events
    if paid == "paid":
        status = "paid"
    elif event.type == "checkout.session.async_payment_failed":
        status = "failed"
    else:
        status = "pending"
    metadata = _metadata(session)
    customer = _id(session.get("customer"))
    save_payment(
        PaymentState(
            status=status,
            amount=_amount(session["amount_total"]),
            currency=_currency(session["currency"]),
            created_at=_time(session["created"]),
            checkout_session_id=session["id"],
            payment_intent_id=_id(session.get("payment_intent")),
            invoice_id=_id(session.get("invoice")),
            subscription_id=_id(session.get("subscription")),
            customer_id=customer,
            user_id=_user_id(
                customer, session.get("client_reference_id"), metadata.get("floe_user_id")
            ),
            plan=_plan(metadata),
        )
    )


def _invoice_subscription(invoice: dict[str, Any]) -> str | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return _id(invoice.get("subscription")) or _id(details.get("subscription"))


def _invoice_intent(invoice: dict[str, Any]) -> str | None:
    """Older API versions name the PaymentIntent; newer ones list payments (when included)."""
    intent = _id(invoice.get("payment_intent"))
    payments = (invoice.get("payments") or {}).get("data") or []
    for item in payments if intent is None else ():
        if isinstance(item, dict) and item.get("status") == "paid":
            intent = _id((item.get("payment") or {}).get("payment_intent"))
    return intent


def on_invoice(event: Event, after: After) -> None:
    """An invoice (a subscription's, mostly) was paid, or a payment attempt failed: a failed
    renewal mails the user."""
    invoice = event.object
    paid = event.type in ("invoice.paid", "invoice.payment_succeeded")
    amount = _amount(invoice["amount_paid"] if paid else invoice["amount_due"])
    if amount == 0:
        return  # nothing charged: a trial, a full discount
    customer = _id(invoice.get("customer"))
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    metadata = _metadata(details) or _metadata(invoice)
    payment = save_payment(
        PaymentState(
            status="paid" if paid else "failed",
            amount=amount,
            currency=_currency(invoice["currency"]),
            created_at=_time(invoice["created"]),
            invoice_id=invoice["id"],
            payment_intent_id=_invoice_intent(invoice),
            charge_id=_id(invoice.get("charge")),
            subscription_id=_invoice_subscription(invoice),
            customer_id=customer,
            user_id=_user_id(customer, metadata.get("floe_user_id")),
            plan=_plan(metadata, _line_prices(invoice.get("lines"))),
        )
    )
    renewal = invoice.get("billing_reason") == "subscription_cycle"
    if not paid and renewal and payment.status == "failed" and payment.user_id is not None:
        retry = invoice.get("next_payment_attempt")
        after.append(
            partial(
                _mail_failed_renewal,
                payment.user_id,
                payment.amount,
                payment.currency,
                _time(retry) if retry else None,
            )
        )


def _mail_failed_renewal(
    user_id: int, amount: int, currency: str, retry: dt.datetime | None
) -> None:
    user = db.session.get(User, user_id)
    if user is not None and user.deleted_at is None:
        mails.send_payment_failed(user, amount, currency, retry)


def on_invoice_payment(event: Event, after: After) -> None:
    """Links an invoice to the PaymentIntent that paid it (newer API versions say it only
    here), so that a refund of that PaymentIntent finds the invoice's payment."""
    link = event.object
    paid_by = link.get("payment") or {}
    intent, charge = _id(paid_by.get("payment_intent")), _id(paid_by.get("charge"))
    invoice = _id(link.get("invoice"))
    if link.get("status") != "paid" or invoice is None or (intent is None and charge is None):
        return
    save_payment(
        PaymentState(
            status="paid",
            amount=_amount(link.get("amount_paid") or link["amount_requested"]),
            currency=_currency(link["currency"]),
            created_at=_time(link["created"]),
            invoice_id=invoice,
            payment_intent_id=intent,
            charge_id=charge,
        )
    )


_CHARGE_STATUS = {"succeeded": "paid", "pending": "pending", "failed": "failed"}


def on_charge(event: Event, after: After) -> None:
    """A charge was refunded, in part or in full: ``amount_refunded`` is the total so far."""
    charge = event.object
    status = _CHARGE_STATUS.get(charge.get("status", ""))
    if status is None:
        raise ValueError(f"charge status {charge.get('status')!r}")
    metadata = _metadata(charge)
    customer = _id(charge.get("customer"))
    save_payment(
        PaymentState(
            status=status,
            amount=_amount(charge["amount"]),
            currency=_currency(charge["currency"]),
            created_at=_time(charge["created"]),
            amount_refunded=_amount(charge.get("amount_refunded") or 0),
            charge_id=charge["id"],
            payment_intent_id=_id(charge.get("payment_intent")),
            invoice_id=_id(charge.get("invoice")),
            customer_id=customer,
            user_id=_user_id(customer, metadata.get("floe_user_id")),
            plan=_plan(metadata),
        )
    )


def on_dispute(event: Event, after: After) -> None:
    """A chargeback or an inquiry was opened, changed or closed (won or lost)."""
    dispute = event.object
    if dispute["status"] not in DISPUTE_RANK:
        raise ValueError(f"dispute status {dispute['status']!r}")
    save_dispute(
        DisputeState(
            id=dispute["id"],
            status=dispute["status"],
            amount=_amount(dispute["amount"]),
            currency=_currency(dispute["currency"]),
            created_at=_time(dispute["created"]),
            state_at=event.created,
            reason=dispute.get("reason"),
            charge_id=_id(dispute.get("charge")),
            payment_intent_id=_id(dispute.get("payment_intent")),
        )
    )


def _period_end(subscription: dict[str, Any]) -> dt.datetime | None:
    """Older API versions give it on the subscription, newer ones on each item."""
    ends = [subscription.get("current_period_end")]
    items = (subscription.get("items") or {}).get("data") or []
    ends += [item.get("current_period_end") for item in items if isinstance(item, dict)]
    known = [end for end in ends if isinstance(end, int)]
    return _time(max(known)) if known else None


def on_subscription(event: Event, after: After) -> None:
    """A subscription started, changed (renewed, past due, set to cancel…) or ended."""
    sub = event.object
    if sub["status"] not in SUBSCRIPTION_RANK:
        raise ValueError(f"subscription status {sub['status']!r}")
    metadata = _metadata(sub)
    customer = _id(sub.get("customer"))
    save_subscription(
        SubscriptionState(
            id=sub["id"],
            status=sub["status"],
            created_at=_time(sub["created"]),
            state_at=event.created,
            current_period_end=_period_end(sub),
            cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
            customer_id=customer,
            user_id=_user_id(customer, metadata.get("floe_user_id")),
            plan=_plan(metadata, _line_prices(sub.get("items"))),
        )
    )


HANDLERS: dict[str, Callable[[Event, After], None]] = {
    "checkout.session.completed": on_checkout_session,
    "checkout.session.async_payment_succeeded": on_checkout_session,
    "checkout.session.async_payment_failed": on_checkout_session,
    "checkout.session.expired": on_checkout_session,
    "invoice.paid": on_invoice,
    "invoice.payment_succeeded": on_invoice,
    "invoice.payment_failed": on_invoice,
    "invoice_payment.paid": on_invoice_payment,
    "charge.refunded": on_charge,
    "charge.dispute.created": on_dispute,
    "charge.dispute.updated": on_dispute,
    "charge.dispute.closed": on_dispute,
    "customer.subscription.created": on_subscription,
    "customer.subscription.updated": on_subscription,
    "customer.subscription.deleted": on_subscription,
}
