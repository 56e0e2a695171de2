"""Whose a session is: Flask-Login's user loader, and what a session restored from the
remember-me cookie records (Flask-Login is set up in dynamic/core/security.py)."""

from __future__ import annotations

from flask import Flask, g
from flask_login import current_user, login_user, user_loaded_from_cookie

from dynamic.accounts.models import RememberDevice, User
from dynamic.core.db import db
from dynamic.core.security import login_manager


def load_user(user_id: str):
    """Session and remember-me cookies carry ``id:token``, plus ``:device`` for a device that
    logged in with "keep me logged in": a new token ends every one of them; a device logged out
    (its row deleted) or expired ends that device's, copies included."""
    number, _, rest = user_id.partition(":")
    token, _, device_token = rest.partition(":")
    if not number.isdigit() or not token or g.get("database_unavailable"):
        return None  # (the last: the 503 page of dynamic/core/error_pages.py, not a second wait)
    user = db.session.get(User, int(number))
    if user is None or not user.is_active or user.session_token != token:
        return None
    if device_token:
        if RememberDevice.find(user.id, device_token) is None:
            return None
        user.device_token = device_token
    return user


def signed_in_user() -> User:
    """The logged-in user as the session's own :class:`User` (the one ``current_user``
    stands for, from the identity map: no query), for code that needs the model itself."""
    user = db.session.get(User, current_user.id)
    assert user is not None, "signed_in_user() needs a logged-in user (login_required)"
    return user


def keep_session_protection(app: Flask, user: User) -> None:
    """A session restored from the remember-me cookie belongs to this browser: log it in
    again (not fresh, as Flask-Login restored it), which records the browser's identifier, or
    "strong" protection would end it on the next request. The device's last use is recorded
    too (once per restore, not per request)."""
    login_user(user, fresh=False)
    if user.device_token:
        RememberDevice.touch(user.device_token)
        db.session.commit()


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    user_loaded_from_cookie.connect(keep_session_protection, app)
