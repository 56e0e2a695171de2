"""Sessions, CSRF and rate limits: Flask-Login, Flask-WTF and Flask-Limiter, set up once; and
the host's bound on password checks (password_gate.py). Whose a session is, the accounts say
(dynamic/accounts/sessions.py).

The limiter's strategy is RATELIMIT_STRATEGY (FLOE_RATELIMIT_STRATEGY, default the moving
window): a fixed window lets twice a limit through around its boundary (the limit's worth at
the end of one window, again at the start of the next), which for logins means twice the
guesses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from dynamic.core import password_gate

View = TypeVar("View", bound=Callable[..., Any])

login_manager = LoginManager()
csrf = CSRFProtect()


class ViewLimits:
    """Rate limits declared on views at import time, put in force per app by a Limiter of its own.

    Flask-Limiter keeps what it learns from an app on the Limiter object (the strategy and key
    prefix of the first app it meets, whether its storage is down), so one module-level
    Limiter shared by every app of a process carries one app's state into the next: tests and
    the command line create many. Here ``@limiter.limit(...)`` declares the limit and puts a
    stand-in where the decorator stands; ``apply`` stacks Flask-Limiter's own decorators, from
    the app's own Limiter, on the view in the order written, and the stand-in calls that.
    """

    def __init__(self) -> None:
        self._declared: dict[Callable[..., Any], list[tuple[tuple[Any, ...], dict[str, Any]]]]
        self._declared = {}
        self._views: dict[Callable[..., Any], Callable[..., Any]] = {}

    def limit(self, *args: Any, **kwargs: Any) -> Callable[[View], View]:
        """Flask-Limiter's ``Limiter.limit``, for every app's own limiter."""

        def declare(view: View) -> View:
            if view in self._declared:  # stacked on a limit declared just below
                self._declared[view].append((args, kwargs))
                return view

            @functools.wraps(view)
            def stand_in(*a: Any, **k: Any) -> Any:
                return current_app.extensions["floe.limited"][stand_in](*a, **k)

            self._declared[stand_in] = [(args, kwargs)]
            self._views[stand_in] = view
            return cast(View, stand_in)

        return declare

    def init_app(self, app: Flask) -> None:
        # If Redis is unreachable, limits fall back to this process's memory rather than
        # failing logins.
        app.extensions["floe.limiter"] = Limiter(
            get_remote_address, app=app, in_memory_fallback_enabled=True, swallow_errors=True
        )

    def apply(self, app: Flask) -> None:
        """Give every declared limit to the app's Limiter (once every area's views exist)."""
        own: Limiter = app.extensions["floe.limiter"]
        limited = {}
        for stand_in, limits in self._declared.items():
            view = self._views[stand_in]
            for args, kwargs in limits:  # innermost first, as stacked
                view = own.limit(*args, **kwargs)(view)
            limited[stand_in] = view
        app.extensions["floe.limited"] = limited

    @property
    def current(self) -> Limiter:
        """The current app's Limiter."""
        return current_app.extensions["floe.limiter"]


limiter = ViewLimits()


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
