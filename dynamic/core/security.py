"""Sessions, CSRF and rate limits: Flask-Login, Flask-WTF and Flask-Limiter, set up once; and
the host's bound on password checks (password_gate.py).

The limiter's strategy is RATELIMIT_STRATEGY (FLOE_RATELIMIT_STRATEGY, default the moving
window): a fixed window lets twice a limit through around its boundary (the limit's worth at
the end of one window, again at the start of the next), which for logins means twice the
guesses.
"""

from __future__ import annotations

from flask import Flask, g, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, user_loaded_from_cookie
from flask_wtf.csrf import CSRFProtect

from dynamic.core import password_gate
from dynamic.core.db import db

login_manager = LoginManager()
csrf = CSRFProtect()
# If Redis is unreachable, limits fall back to this process's memory rather than failing logins.
limiter = Limiter(key_func=get_remote_address, in_memory_fallback_enabled=True, swallow_errors=True)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://")):
        # A Redis that does not answer costs a request this long before the limits fall back
        # to memory (Flask-Limiter then rechecks it now and then); redis-py's defaults wait
        # for ever.
        timeout = app.config.get("FLOE_REDIS_TIMEOUT") or None
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS",
            {"socket_timeout": timeout, "socket_connect_timeout": timeout},
        )
    limiter.init_app(app)
    password_gate.init_app(app)


@login_manager.user_loader
def load_user(user_id: str):
    """Session and remember-me cookies carry ``id:token``, plus ``:device`` for a device that
    logged in with "keep me logged in": a new token ends every one of them; a device logged out
    (its row deleted) or expired ends that device's, copies included."""
    from dynamic.accounts.models import RememberDevice, User

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


@user_loaded_from_cookie.connect
def keep_session_protection(app, user) -> None:
    """A session restored from the remember-me cookie belongs to this browser: record its
    identifier, as login_user does, or "strong" protection would end it on the next request.
    The device's last use is recorded too (once per restore, not per request)."""
    from dynamic.accounts.models import RememberDevice

    session["_id"] = login_manager._session_identifier_generator()
    if user.device_token:
        RememberDevice.touch(user.device_token)
        db.session.commit()
