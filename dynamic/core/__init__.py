"""What every area stands on: configuration, the database, the tenant of each request, the
tenant's look, forms and security (sessions, CSRF, rate limits, the password gate), mail,
error pages, input checks and the health check. Core imports no other area."""

from __future__ import annotations

import os

from flask import Blueprint, Flask

from dynamic.core import db as database
from dynamic.core import error_pages, health, inputs, look, mail, security, tenancy
from dynamic.core.db import db, migrate

#: The core's templates (core/layout.html, core/message.html, core/_field.html, core/email/).
templates = Blueprint("core", __name__, template_folder="templates")

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def init_app(app: Flask, prefix: str) -> None:
    database.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    tenancy.init_app(app)
    inputs.init_app(app)  # after the tenant is known, before CSRF and every handler
    look.init_app(app, tenancy.tenants(app))
    security.init_app(app)
    mail.init_app(app)
    error_pages.init_app(app)
    app.register_blueprint(templates)
    app.register_blueprint(health.bp, url_prefix=prefix)
