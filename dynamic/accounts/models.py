"""What the service stores."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from dynamic.core.db import db
from dynamic.core.password_gate import admitted


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` with its time zone: SQLite gives stored times back without one (UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


#: No password hash matches it (Werkzeug's checks answer False), so nobody can log in.
UNUSABLE_PASSWORD = "!"

#: Compared against when no account has the email, so both answers take the same time.
_NO_ACCOUNT_HASH = generate_password_hash("no account has this password")


class User(UserMixin, db.Model):
    """An account. Emails are stored lowercased and unique, so the same address with other
    capitals is the same account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now(), nullable=False
    )
    #: The tenant whose site the user signed up on.
    tenant: Mapped[str] = mapped_column(String(64), nullable=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: Set when the owner deleted the account: the row stays, without personal data, so
    #: payments and split-test results keep their user.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: Part of every session and remember-me cookie: changing it ends them all.
    session_token: Mapped[str] = mapped_column(
        String(64), default=lambda: secrets.token_urlsafe(32), nullable=False
    )

    __table_args__ = (Index("ix_users_email_lower", func.lower(email), unique=True),)

    #: Not stored: the remember-me token of the device this request comes from, when it logged
    #: in with "keep me logged in" (set by dynamic.accounts.auth.start_session and security.load_user).
    device_token = None

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember-me cookie: ``id:session``,
        plus ``:device`` for a remembered device, so logging out that device (which deletes its
        :class:`RememberDevice`) ends every copy of its cookies."""
        base = f"{self.id}:{self.session_token}"
        return f"{base}:{self.device_token}" if self.device_token else base

    def set_password(self, password: str) -> None:
        """Hash ``password`` (scrypt, Werkzeug's default) when the host's gate lets it in."""
        with admitted():
            self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        """Whether ``password`` is this account's, checked when the host's gate lets it in;
        the gate raises PasswordChecksBusy (a 503) when the host is busy with others."""
        with admitted():
            return check_password_hash(self.password_hash, password)

    def end_sessions(self) -> None:
        """Every session and remember-me cookie of this user stops working."""
        self.session_token = secrets.token_urlsafe(32)
        self.device_token = None
        if self.id is not None:
            db.session.execute(delete(RememberDevice).where(RememberDevice.user_id == self.id))

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def mark_verified(self) -> None:
        if self.email_verified_at is None:
            self.email_verified_at = _now()

    def anonymise(self) -> None:
        """Delete the account as its owner asked: no email, no password, no way back in.

        The row itself stays (with its id, tenant and dates) for what must be kept for
        accounting: payments and split-test results refer to it.
        """
        self.email = f"deleted-{self.id}@deleted.invalid"
        self.password_hash = UNUSABLE_PASSWORD
        self.email_verified_at = None
        self.is_active = False
        self.is_admin = False
        self.deleted_at = _now()
        self.end_sessions()

    @staticmethod
    def normalize(email: str) -> str:
        return email.strip().lower()

    @classmethod
    def find(cls, email: str) -> User | None:
        return db.session.scalar(
            db.select(cls).where(func.lower(cls.email) == cls.normalize(email))
        )


class RememberDevice(db.Model):
    """A browser that logged in with "keep me logged in": its remember-me cookie works only
    while this row exists, so logging out there ends every copy of that cookie, and the
    user's other devices stay logged in.

    Only a hash of the token is stored: it has 256 random bits, so SHA-256 is enough (a slow
    password hash would add nothing), and a copy of the table logs nobody in.
    """

    __tablename__ = "remember_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    #: SHA-256 of the token, in hex.
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, nullable=False
    )
    #: The last time a session was restored from this device's cookie.
    last_used_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, nullable=False
    )
    #: When the cookie expires (REMEMBER_COOKIE_DURATION after the login): refused after.
    expires_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, index=True
    )

    __table_args__ = (UniqueConstraint("token_hash", name="uq_remember_devices_token_hash"),)

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, lifetime: dt.timedelta) -> str:
        """A new device for ``user``; returns its token (kept only in the cookie). Expired
        devices of every user are deleted on the way."""
        now = _now()
        db.session.execute(delete(cls).where(cls.expires_at < now))
        token = secrets.token_urlsafe(32)
        db.session.add(
            cls(
                user_id=user.id,
                token_hash=cls.digest(token),
                created_at=now,
                last_used_at=now,
                expires_at=now + lifetime,
            )
        )
        return token

    @classmethod
    def find(cls, user_id: int, token: str) -> RememberDevice | None:
        """The unexpired device of ``user_id`` with ``token``, or None."""
        device = db.session.scalar(db.select(cls).where(cls.token_hash == cls.digest(token)))
        if device is None or device.user_id != user_id or as_utc(device.expires_at) <= _now():
            return None
        return device

    @classmethod
    def touch(cls, token: str) -> None:
        """A session was restored from this device's cookie just now."""
        db.session.execute(
            db.update(cls).where(cls.token_hash == cls.digest(token)).values(last_used_at=_now())
        )

    @classmethod
    def forget(cls, token: str) -> None:
        """The device with ``token`` is logged out: its cookie no longer works anywhere."""
        db.session.execute(delete(cls).where(cls.token_hash == cls.digest(token)))


def spend_password_check_time(password: str) -> None:
    """As long as a real password check, for logins with an unknown email: through the same
    gate too, or unknown emails would be answered faster (and never refused) when busy."""
    with admitted():
        check_password_hash(_NO_ACCOUNT_HASH, password)


class Exposure(db.Model):
    """A visitor's browser confirmed it showed a variant: once per visitor and experiment."""

    __tablename__ = "exposures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visitor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    experiment: Mapped[str] = mapped_column(String(64), nullable=False)
    variant: Mapped[str] = mapped_column(String(64), nullable=False)
    tenant: Mapped[str] = mapped_column(String(64), nullable=False)
    seen_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, nullable=False
    )

    __table_args__ = (
        UniqueConstraint("visitor_id", "experiment", name="uq_exposures_visitor"),
        # Covers the split-test report's counts (dynamic/split_tests/report.py).
        Index("ix_exposures_report", "experiment", "tenant", "seen_at", "variant"),
    )


class UserAssignment(db.Model):
    """A user's bucket in an experiment, copied at sign-up: payments are credited to it."""

    __tablename__ = "user_assignments"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    experiment: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant: Mapped[str] = mapped_column(String(64), nullable=False)
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ExperimentDecision(db.Model):
    """An admin stopped a running experiment (and maybe declared its winner) from the admin.

    Kept here rather than only in site/experiments.toml so every worker and host applies it at
    once to the requests the service answers (dynamic/split_tests/decisions.py); the edge follows when the
    file says so and the sites are rebuilt. One row per experiment: deleting it resumes.
    """

    __tablename__ = "experiment_decisions"

    experiment: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="stopped", nullable=False)
    #: The variant everyone is shown from now on; None: the control, without a winner declared.
    winner: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, nullable=False
    )
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (CheckConstraint("status = 'stopped'", name="ck_experiment_decisions_status"),)


# --- payments (Stripe) ------------------------------------------------------------------------
# Amounts are integers in the currency's minor unit (cents), as Stripe sends them; currencies
# are lowercase ISO codes. Stripe's ids are stored as given.


class StripeCustomer(db.Model):
    """The Stripe customer of a user: created once, at the first checkout."""

    __tablename__ = "stripe_customers"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, nullable=False
    )

    __table_args__ = (UniqueConstraint("user_id", name="uq_stripe_customers_user"),)


class CheckoutSession(db.Model):
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


class Payment(db.Model):
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


class Dispute(db.Model):
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


class Subscription(db.Model):
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


class StripeEvent(db.Model):
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
