"""What the service stores."""

from __future__ import annotations

import datetime as dt
import secrets

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from dynamic.db import db


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # scrypt, Werkzeug's default
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def end_sessions(self) -> None:
        """Every session and remember-me cookie of this user stops working."""
        self.session_token = secrets.token_urlsafe(32)

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


def spend_password_check_time(password: str) -> None:
    """As long as a real password check, for logins with an unknown email."""
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
        Index("ix_exposures_experiment", "experiment", "variant"),
    )


class UserAssignment(db.Model):
    """A user's bucket in an experiment, copied at sign-up: payments are credited to it."""

    __tablename__ = "user_assignments"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    experiment: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant: Mapped[str] = mapped_column(String(64), nullable=False)
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
