"""What the payment records add up to: lifetime value, entitlement. Read-only;
dynamic/payments/webhooks.py writes the records (revenue per split-test bucket is the split
tests' sum, dynamic/split_tests/revenue.py).

Lifetime value, per currency (amounts never mix currencies): paid payments minus what was
refunded, minus open or lost chargebacks. A chargeback takes its amount off when it is opened
and gives it back when it is won; an inquiry (``warning_…`` statuses) moves no money, so it
takes nothing off.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from dynamic.core.db import as_utc, db
from dynamic.payments.models import Dispute, Payment, Subscription
from dynamic.payments.plans import Plans

#: Dispute statuses whose amount is off the books (withdrawn by the bank, not given back).
HELD = ("needs_response", "under_review", "lost")
#: Subscription statuses that give access. past_due: Stripe is still retrying the renewal.
ENTITLED = ("active", "trialing", "past_due")
#: What a paid payment brings in, before disputes.
NET = Payment.amount - Payment.amount_refunded


@dataclass(frozen=True)
class Entitlement:
    """Whether the user has paid for access, and until when (None while paid: for good)."""

    paid: bool
    until: dt.datetime | None = None
    #: "tenant/key" of the plan that gives it.
    plan: str | None = None
    #: The subscription's status, or "purchase" for a one-off.
    status: str | None = None
    cancel_at_period_end: bool = False

    @property
    def plan_key(self) -> str | None:
        return self.plan.partition("/")[2] if self.plan else None


NOT_PAID = Entitlement(paid=False)


def plans() -> Plans:
    return current_app.extensions["floe.plans"]


def lifetime_values(user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """``{user id: {currency: minor units}}`` for each user who ever paid."""
    ids = list(user_ids)
    if not ids:
        return {}
    values: dict[int, dict[str, int]] = defaultdict(dict)
    paid = (
        select(Payment.user_id, Payment.currency, func.sum(NET))
        .where(Payment.status == "paid", Payment.user_id.in_(ids))
        .group_by(Payment.user_id, Payment.currency)
    )
    for user, currency, amount in db.session.execute(paid):
        assert user is not None  # (the query's user_id IN)
        values[user][currency] = int(amount)
    held = (
        select(Payment.user_id, Dispute.currency, func.sum(Dispute.amount))
        .join(Dispute, Dispute.payment_id == Payment.id)
        .where(Payment.status == "paid", Dispute.status.in_(HELD), Payment.user_id.in_(ids))
        .group_by(Payment.user_id, Dispute.currency)
    )
    for user, currency, amount in db.session.execute(held):
        assert user is not None  # (the query's user_id IN)
        values[user][currency] = values[user].get(currency, 0) - int(amount)
    return {user: dict(sorted(by_currency.items())) for user, by_currency in values.items()}


def lifetime_value(user_id: int) -> dict[str, int]:
    """``{currency: minor units}``: what the user paid, net of refunds and disputes."""
    return lifetime_values([user_id]).get(user_id, {})


def payments_of(user_id: int, limit: int | None = None) -> list[Payment]:
    """Newest first."""
    return list(
        db.session.scalars(
            select(Payment)
            .where(Payment.user_id == user_id)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(limit)
        )
    )


def held_disputes(payment_ids: Iterable[int]) -> dict[int, int]:
    """``{payment id: amount held by open or lost chargebacks}``."""
    ids = list(payment_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Dispute.payment_id, func.sum(Dispute.amount))
        .where(Dispute.payment_id.in_(ids), Dispute.status.in_(HELD))
        .group_by(Dispute.payment_id)
    )
    return {payment: int(amount) for payment, amount in rows if payment is not None}


def entitlement(user_id: int, now: dt.datetime | None = None) -> Entitlement:
    """What the records say the user has paid for: a subscription in good standing, or a
    one-off purchase (for good, or for its plan's ``access_days``) not refunded or charged
    back in full."""
    now = now or dt.datetime.now(dt.UTC)
    best = NOT_PAID
    for sub in db.session.scalars(
        select(Subscription).where(
            Subscription.user_id == user_id, Subscription.status.in_(ENTITLED)
        )
    ):
        until = as_utc(sub.current_period_end) if sub.current_period_end else None
        best = _better(
            best, Entitlement(True, until, sub.plan, sub.status, sub.cancel_at_period_end)
        )
    # A one-off purchase is known by its plan (Checkout's metadata): a payment of unknown
    # plan may be a subscription's invoice whose other events are still on their way.
    one_offs = [
        (payment, plan)
        for payment in db.session.scalars(
            select(Payment).where(
                Payment.user_id == user_id,
                Payment.status == "paid",
                Payment.subscription_id.is_(None),
                Payment.plan.is_not(None),
            )
        )
        if (plan := plans().by_ref(payment.plan)) is not None and not plan.recurring
    ]
    held = held_disputes(payment.id for payment, _ in one_offs)
    for payment, plan in one_offs:
        if payment.amount - payment.amount_refunded - held.get(payment.id, 0) <= 0:
            continue
        until = None
        if plan.access_days:
            until = as_utc(payment.created_at) + dt.timedelta(days=plan.access_days)
            if until <= now:
                continue
        best = _better(best, Entitlement(True, until, payment.plan, "purchase"))
    return best


def _better(a: Entitlement, b: Entitlement) -> Entitlement:
    """The entitlement that lasts longer (paid for good beats any date)."""
    if not a.paid:
        return b
    if a.until is None:
        return a
    if b.until is None or b.until > a.until:
        return b
    return a
