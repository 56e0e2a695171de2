"""The dynamic service: what the static sites cannot do (accounts, payment, split tests).

Every route is under ``/app``: the static sites' hosts proxy that prefix here, so cookies stay
first-party. ``flask --app dynamic run`` starts it for development.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from dynamic import (
    account,
    admin,
    api,
    auth,
    cli,
    errors,
    health,
    inputs,
    look,
    mail,
    pay,
    reset,
    security,
    split,
    tenancy,
)
from dynamic import db as database
from dynamic.config import check_debug, load_config
from dynamic.db import db, migrate

PREFIX = "/app"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The service, configured from the environment, then from ``config`` (tests)."""
    # No static folder: pages link the tenant's fingerprinted assets (see look.py).
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(os.environ, app.instance_path))
    if config:
        app.config.update(config)
    check_debug(app.debug, app.config)
    database.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    from dynamic import models  # noqa: F401  (the models, for migrations)

    tenancy.init_app(app)
    inputs.init_app(app)  # after the tenant is known, before CSRF and every handler
    look.init_app(app, tenancy.tenants(app))
    split.init_app(app, tenancy.tenants(app))
    security.init_app(app)
    mail.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    for blueprint in (health.bp, auth.bp, account.bp, reset.bp, api.bp, split.bp):
        app.register_blueprint(blueprint, url_prefix=PREFIX)
    app.register_blueprint(admin.bp, url_prefix=PREFIX + "/admin")
    pay.init_app(app, tenancy.tenants(app), PREFIX)
    return app
