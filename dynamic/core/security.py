"""Sessions, CSRF and rate limits: Flask-Login, Flask-WTF and Flask-Limiter, set up once; and
the host's bound on password checks (password_gate.py). Whose a session is, the accounts say
(dynamic/accounts/sessions.py).

The limiter's strategy is RATELIMIT_STRATEGY (FLOE_RATELIMIT_STRATEGY, default the moving
window): a fixed window lets twice a limit through around its boundary (the limit's worth at
the end of one window, again at the start of the next), which for logins means twice the
guesses.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from dynamic.core import password_gate

login_manager = LoginManager()
csrf = CSRFProtect()
# If Redis is unreachable, limits fall back to this process's memory rather than failing logins.
limiter = Limiter(key_func=get_remote_address, in_memory_fallback_enabled=True, swallow_errors=True)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
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
