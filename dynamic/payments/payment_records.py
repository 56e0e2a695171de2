"""Writing the payment records from what Stripe's objects say, so that the result is the same
whatever order the objects arrive in (Stripe promises no order, and retries late).

- A payment's status only rises (pending < failed < paid); its refunded amount only grows; its
  ids fill in; the earliest creation time stays. Every id (PaymentIntent, invoice, charge,
  Checkout Session) is unique, so each report finds the row of the payment it is about; when
  a report shows that two rows are one payment, they merge into one.
- A dispute or a subscription keeps the snapshot of the latest event, except that a final
  state (a dispute won or lost, a subscription canceled) is never undone by an older one.

Every state is checked against its table's columns before it is written (dynamic/core/inputs.py's
``check_storable``): a value that does not fit raises :class:`~dynamic.core.inputs.Unstorable`, a
ValueError, so the event is refused whole, alike on SQLite and PostgreSQL.

Callers run inside the transaction that stores the event (dynamic/payments/webhooks.py). Rows are
read ``FOR UPDATE`` (PostgreSQL; SQLite has one writer at a time); an insert that loses a race
raises IntegrityError, and the caller runs the whole event again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import or_, select, update

from dynamic.core.db import as_utc, db
from dynamic.core.inputs import check_storable
from dynamic.payments.models import CheckoutSession, Dispute, Payment, Subscription

PAYMENT_RANK = {"pending": 0, "failed": 1, "paid": 2}
_IDS = ("payment_intent_id", "invoice_id", "charge_id", "checkout_session_id")
_FILLED = (*_IDS, "user_id", "customer_id", "plan", "subscription_id", "currency")
_CHECKOUT_RANK = {"open": 0, "expired": 1, "complete": 2}
DISPUTE_RANK = {
    "warning_needs_response": 0,
    "warning_under_review": 1,
    "warning_closed": 2,
    "needs_response": 3,
    "under_review": 4,
    "prevented": 5,
    "won": 5,
    "lost": 5,
}
SUBSCRIPTION_RANK = {
    "incomplete": 0,
    "trialing": 1,
    "active": 2,
    "past_due": 3,
    "unpaid": 4,
    "paused": 5,
    "incomplete_expired": 6,
    "canceled": 7,
}
_FINAL = ("canceled", "incomplete_expired")
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


class MissingId(ValueError):
    """A payment report without any id to find its payment by."""


@dataclass
class PaymentState:
    """What one Stripe object says about a payment."""

    status: str
    amount: int
    currency: str
    created_at: dt.datetime
    amount_refunded: int = 0
    payment_intent_id: str | None = None
    invoice_id: str | None = None
    charge_id: str | None = None
    checkout_session_id: str | None = None
    user_id: int | None = None
    customer_id: str | None = None
    plan: str | None = None
    subscription_id: str | None = None


@dataclass
class DisputeState:
    id: str
    status: str
    amount: int
    currency: str
    created_at: dt.datetime
    #: When the event carrying this snapshot was created.
    state_at: dt.datetime
    reason: str | None = None
    charge_id: str | None = None
    payment_intent_id: str | None = None


@dataclass
class SubscriptionState:
    id: str
    status: str
    created_at: dt.datetime
    #: When the event carrying this snapshot was created.
    state_at: dt.datetime
    current_period_end: dt.datetime | None = None
    cancel_at_period_end: bool = False
    customer_id: str | None = None
    user_id: int | None = None
    plan: str | None = None


def fill(old: Any, new: Any) -> Any:
    """A known value stays; two different ones (Stripe never sends them) resolve the same way
    whatever their order."""
    if old is None or new is None:
        return new if old is None else old
    return min(old, new)


def save_payment(state: PaymentState) -> Payment:
    """Create or update the payment ``state`` is about, found by any of its ids."""
    check_storable(Payment, asdict(state))
    ids = {name: getattr(state, name) for name in _IDS if getattr(state, name)}
    if not ids:
        raise MissingId("a payment without a PaymentIntent, invoice, charge or session id")
    rows = db.session.scalars(
        select(Payment)
        .where(or_(*(getattr(Payment, name) == value for name, value in ids.items())))
        .order_by(Payment.id)
        .with_for_update()
    ).all()
    if not rows:
        payment = Payment(**{f.name: getattr(state, f.name) for f in fields(PaymentState)})
        db.session.add(payment)
    else:
        payment = rows[0]
        for other in rows[1:]:  # two reports of one payment, now known to be one
            absorbed = _state_of(other)
            db.session.execute(
                update(Dispute).where(Dispute.payment_id == other.id).values(payment_id=payment.id)
            )
            db.session.delete(other)
            db.session.flush()  # its unique ids are free before the survivor takes them
            _merge(payment, absorbed)
        _merge(payment, state)
    db.session.flush()
    _adopt_disputes(payment)
    return payment


def _merge(payment: Payment, state: PaymentState) -> None:
    if PAYMENT_RANK[state.status] > PAYMENT_RANK.get(payment.status, -1):
        payment.status = state.status
    payment.amount = max(payment.amount, state.amount)
    payment.amount_refunded = max(payment.amount_refunded, state.amount_refunded)
    payment.created_at = min(as_utc(payment.created_at), state.created_at)
    for name in _FILLED:
        setattr(payment, name, fill(getattr(payment, name), getattr(state, name)))


def _state_of(payment: Payment) -> PaymentState:
    values = {f.name: getattr(payment, f.name) for f in fields(PaymentState)}
    values["created_at"] = as_utc(payment.created_at)
    return PaymentState(**values)


def _adopt_disputes(payment: Payment) -> None:
    """Disputes recorded before their payment was known now point at it."""
    matches = []
    if payment.charge_id:
        matches.append(Dispute.charge_id == payment.charge_id)
    if payment.payment_intent_id:
        matches.append(Dispute.payment_intent_id == payment.payment_intent_id)
    if matches:
        db.session.execute(
            update(Dispute)
            .where(Dispute.payment_id.is_(None), or_(*matches))
            .values(payment_id=payment.id)
        )


def _find_payment(charge: str | None, intent: str | None) -> Payment | None:
    matches = []
    if charge:
        matches.append(Payment.charge_id == charge)
    if intent:
        matches.append(Payment.payment_intent_id == intent)
    if not matches:
        return None
    return db.session.scalars(
        select(Payment).where(or_(*matches)).order_by(Payment.id).with_for_update()
    ).first()


def save_dispute(state: DisputeState) -> Dispute:
    check_storable(Dispute, asdict(state))
    row = db.session.get(Dispute, state.id, with_for_update=True)
    if row is None:
        row = Dispute(**{f.name: getattr(state, f.name) for f in fields(DisputeState)})
        db.session.add(row)
    elif (DISPUTE_RANK[state.status], state.state_at, state.status) >= (
        DISPUTE_RANK.get(row.status, -1),
        as_utc(row.state_at),
        row.status,
    ):
        row.status, row.state_at = state.status, state.state_at
        row.amount, row.reason = state.amount, state.reason
    row.charge_id = fill(row.charge_id, state.charge_id)
    row.payment_intent_id = fill(row.payment_intent_id, state.payment_intent_id)
    if row.payment_id is None:
        payment = _find_payment(row.charge_id, row.payment_intent_id)
        row.payment_id = payment.id if payment is not None else None
    return row


def _snapshot_key(status: str, at: dt.datetime, end: dt.datetime | None, cancel: bool) -> tuple:
    """Which of two snapshots is newer: a final status, then the later event (ties, within
    Stripe's one-second resolution: the later status, period end, cancellation)."""
    return (status in _FINAL, at, SUBSCRIPTION_RANK.get(status, -1), end or _NEVER, cancel)


def save_subscription(state: SubscriptionState) -> Subscription:
    check_storable(Subscription, asdict(state))
    row = db.session.get(Subscription, state.id, with_for_update=True)
    if row is None:
        row = Subscription(**{f.name: getattr(state, f.name) for f in fields(SubscriptionState)})
        db.session.add(row)
        return row
    old_end = as_utc(row.current_period_end) if row.current_period_end else None
    new = _snapshot_key(
        state.status, state.state_at, state.current_period_end, state.cancel_at_period_end
    )
    if new >= _snapshot_key(row.status, as_utc(row.state_at), old_end, row.cancel_at_period_end):
        row.status, row.state_at = state.status, state.state_at
        row.current_period_end = state.current_period_end
        row.cancel_at_period_end = state.cancel_at_period_end
    row.customer_id = fill(row.customer_id, state.customer_id)
    row.user_id = fill(row.user_id, state.user_id)
    row.plan = fill(row.plan, state.plan)
    return row


def mark_checkout(session_id: str, status: str) -> None:
    """Our record of a Checkout Session we created: completed or expired."""
    check_storable(CheckoutSession, {"id": session_id})
    ours = db.session.get(CheckoutSession, session_id, with_for_update=True)
    if ours is not None and _CHECKOUT_RANK[status] > _CHECKOUT_RANK.get(ours.status, 0):
        ours.status = status
