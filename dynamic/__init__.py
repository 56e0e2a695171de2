"""The dynamic service: what the static sites cannot do (accounts, payment, split tests).

Every route is under ``/app``: the static sites' hosts proxy that prefix here, so cookies stay
first-party. ``flask --app dynamic run`` starts it for development.

One package per area, each with its ``init_app``; an area uses only those listed before it
(admin and split tests use payments and accounts, never the reverse; core uses none), and
hears of the others' events through signals (dynamic/accounts/signals.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from dynamic import accounts, admin, core, payments, split_tests
from dynamic.core.config import check_debug, load_config
from dynamic.core.security import limiter

PREFIX = "/app"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The service, configured from the environment, then from ``config`` (tests)."""
    # No static folder: pages link the tenant's fingerprinted assets (see core/look.py); no
    # template folder: each area's blueprints bring their own.
    app = Flask(__name__, instance_relative_config=True, static_folder=None, template_folder=None)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(os.environ, app.instance_path))
    if config:
        app.config.update(config)
    check_debug(app.debug, app.config)
    core.init_app(app, PREFIX)
    accounts.init_app(app, PREFIX)
    payments.init_app(app, PREFIX)
    split_tests.init_app(app, PREFIX)
    admin.init_app(app, PREFIX)
    limiter.apply(app)  # every area's views are in: their rate limits now
    return app
