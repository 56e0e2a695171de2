"""Revenue per split-test bucket (the buckets copied onto users at sign-up), per currency,
as the payments count it (dynamic/payments/ledger.py): for comparing variants by what their
users paid (``flask --app dynamic split revenue``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from dynamic.core.db import db
from dynamic.payments.ledger import HELD, NET
from dynamic.payments.models import Dispute, Payment
from dynamic.split_tests.models import UserAssignment


@dataclass(frozen=True)
class BucketRevenue:
    experiment: str
    variant: str
    currency: str
    #: Net of refunds and held disputes, in minor units.
    revenue: int
    #: Users of the bucket with a paid payment in this currency.
    payers: int


def bucket_revenue(experiment: str | None = None) -> list[BucketRevenue]:
    """Revenue per split-test bucket (the buckets copied onto users at sign-up), per currency:
    for comparing variants by what their users paid."""
    assignment = UserAssignment
    paid = (
        select(
            assignment.experiment,
            assignment.variant,
            Payment.currency,
            func.sum(NET),
            func.count(func.distinct(Payment.user_id)),
        )
        .join(Payment, Payment.user_id == assignment.user_id)
        .where(Payment.status == "paid")
        .group_by(assignment.experiment, assignment.variant, Payment.currency)
    )
    held = (
        select(
            assignment.experiment, assignment.variant, Dispute.currency, func.sum(Dispute.amount)
        )
        .join(Payment, Payment.user_id == assignment.user_id)
        .join(Dispute, Dispute.payment_id == Payment.id)
        .where(Payment.status == "paid", Dispute.status.in_(HELD))
        .group_by(assignment.experiment, assignment.variant, Dispute.currency)
    )
    if experiment is not None:
        paid = paid.where(assignment.experiment == experiment)
        held = held.where(assignment.experiment == experiment)
    totals: dict[tuple[str, str, str], list[int]] = {}
    for exp, variant, currency, amount, payers in db.session.execute(paid):
        totals[(exp, variant, currency)] = [int(amount), int(payers)]
    for exp, variant, currency, amount in db.session.execute(held):
        totals.setdefault((exp, variant, currency), [0, 0])[0] -= int(amount)
    return [
        BucketRevenue(exp, variant, currency, revenue, payers)
        for (exp, variant, currency), (revenue, payers) in sorted(totals.items())
    ]


def bucket_sizes(experiment: str | None = None) -> dict[tuple[str, str], int]:
    """``{(experiment, variant): users}``: how many users each bucket holds."""
    query = select(
        UserAssignment.experiment, UserAssignment.variant, func.count(UserAssignment.user_id)
    ).group_by(UserAssignment.experiment, UserAssignment.variant)
    if experiment is not None:
        query = query.where(UserAssignment.experiment == experiment)
    return {(exp, variant): int(count) for exp, variant, count in db.session.execute(query)}
