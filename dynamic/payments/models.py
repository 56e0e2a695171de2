"""What payments store (Stripe): customers, Checkout Sessions, payments, disputes,
subscriptions and every webhook event received.

Amounts are integers in the currency's minor unit (cents), as Stripe sends them; currencies
are lowercase ISO codes. Stripe's ids are stored as given.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dynamic.core.db import Model
from dynamic.core.db import utcnow as _now


class StripeCustomer(Model):
    """The Stripe customer of a user: created once, at the first checkout."""

    __tablename__ = "stripe_customers"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, nullable=False
    )

    __table_args__ = (UniqueConstraint("user_id", name="uq_stripe_customers_user"),)


class CheckoutSession(Model):
    """A Checkout Session this service created: whose it is, for which plan. The success page
    shows only the owner's sessions."""

    __tablename__ = "checkout_sessions"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    plan: Mapped[str] = mapped_column(String(64), nullable=False)
    tenant: Mapped[str] = mapped_column(String(64), nullable=False)
    #: "open" until Stripe reports the session completed ("complete") or expired.
    status: Mapped[str] = mapped_column(String(16), default="open", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, nullable=False
    )


class Payment(Model):
    """One payment: a one-off purchase or one invoice of a subscription.

    Stripe reports a payment through several objects (Checkout Session, invoice, charge,
    PaymentIntent), each knowing some of its ids. Every id is unique here, so whichever event
    comes first creates the row and the others find it (see dynamic/payments/webhooks.py).
    """

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The plan as "tenant/key" of site/plans.toml, when known.
    plan: Mapped[str | None] = mapped_column(String(130))
    #: "pending" (e.g. a bank debit on its way), "failed" or "paid"; a paid payment stays paid
    #: (refunds and disputes are recorded beside it).
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_refunded: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    invoice_id: Mapped[str | None] = mapped_column(String(255))
    charge_id: Mapped[str | None] = mapped_column(String(255))
    checkout_session_id: Mapped[str | None] = mapped_column(String(255))
    subscription_id: Mapped[str | None] = mapped_column(String(255), index=True)
    #: When Stripe created it (the earliest of the objects that reported it).
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, onupdate=_now, nullable=False
    )

    __table_args__ = (
        UniqueConstraint("payment_intent_id", name="uq_payments_payment_intent"),
        UniqueConstraint("invoice_id", name="uq_payments_invoice"),
        UniqueConstraint("charge_id", name="uq_payments_charge"),
        UniqueConstraint("checkout_session_id", name="uq_payments_checkout_session"),
    )


class Dispute(Model):
    """A chargeback (or an inquiry) on a payment's charge."""

    __tablename__ = "disputes"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: None until the disputed payment is known (events may come in any order).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    #: The time of the event whose snapshot this row holds: an older one never overwrites it.
    state_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Subscription(Model):
    """A Stripe subscription, as its latest event described it."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    #: The plan as "tenant/key" of site/plans.toml, when known.
    plan: Mapped[str | None] = mapped_column(String(130))
    #: Stripe's: incomplete, trialing, active, past_due, unpaid, paused, canceled…
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    current_period_end: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    #: The time of the event whose snapshot this row holds: an older one never overwrites it.
    state_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class StripeEvent(Model):
    """Every webhook event received, stored in the transaction of its effects: its id is the
    primary key, so a second delivery of the same event changes nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(128), nullable=False)
    #: When Stripe created the event.
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    received_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, nullable=False
    )
    #: The raw body, for audits and for replaying events this version does not handle.
    payload: Mapped[str] = mapped_column(Text, nullable=False)
