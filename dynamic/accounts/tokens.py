"""Signed, expiring links for password reset and email verification (itsdangerous).

A token carries the user's id and a digest of the state it is about: the password hash for a
reset (so the link dies once the password changes, including by using it, or the address
changes) and the email for a verification (so it dies if the address changes). Nothing is
stored server-side.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from dynamic.accounts.models import User
from dynamic.core.db import db


class Purpose(Enum):
    RESET = "reset"
    VERIFY = "verify"


class TokenError(Exception):
    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"floe.{purpose.value}")


def _state(user: User, purpose: Purpose) -> str:
    # A reset also proves the address it was mailed to: it dies if the email changes too.
    value = f"{user.password_hash}\0{user.email}" if purpose is Purpose.RESET else user.email
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def max_age(purpose: Purpose) -> int:
    """Seconds a link works: FLOE_RESET_MAX_AGE, FLOE_VERIFY_MAX_AGE."""
    return current_app.config[f"FLOE_{purpose.name}_MAX_AGE"]


def make_token(user: User, purpose: Purpose) -> str:
    return _serializer(purpose).dumps([user.id, _state(user, purpose)])


def user_for_token(token: str, purpose: Purpose) -> User:
    """The active user ``token`` was made for, or TokenError (expired, or invalid/used)."""
    try:
        user_id, state = _serializer(purpose).loads(token, max_age=max_age(purpose))
    except SignatureExpired:
        raise TokenError(expired=True) from None
    except (BadData, ValueError, TypeError):
        raise TokenError(expired=False) from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or not isinstance(state, str):
        raise TokenError(expired=False)
    if not hmac.compare_digest(_state(user, purpose), state):
        raise TokenError(expired=False)
    return user
