"""What accounts store: users and the devices that stay logged in."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    delete,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from dynamic.core.db import Model, as_utc, db
from dynamic.core.db import utcnow as _now
from dynamic.core.password_gate import admitted

#: No password hash matches it (Werkzeug's checks answer False), so nobody can log in.
UNUSABLE_PASSWORD = "!"

#: Compared against when no account has the email, so both answers take the same time.
_NO_ACCOUNT_HASH = generate_password_hash("no account has this password")


class User(UserMixin, Model):
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
    #: in with "keep me logged in" (set by auth.start_session and sessions.load_user).
    if TYPE_CHECKING:  # (an annotation the ORM would read as a column)
        device_token: str | None = None
    else:
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


class RememberDevice(Model):
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
