"""Payments: checkout and billing pages (checkout.py), Stripe's webhooks (webhooks.py) and the
records they write (payment_records.py), the Stripe client (stripe_client.py) or its local
stand-in (local_stripe.py), what the records add up to (ledger.py), each site's plans
(plans.py), what /app/api/me says (api.py), and the plan on the account page
(account_panel.py)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from dynamic.core.tenancy import tenants
from dynamic.payments import account_panel, api, checkout, stripe_client
from dynamic.payments.plans import format_money, load_plans


def init_app(app: Flask, prefix: str) -> None:
    """Plans, the Stripe client (or the local stand-in) and the payment routes."""
    from dynamic.payments import models  # noqa: F401  (the tables, for migrations)

    site = Path(app.config["FLOE_SITE_DIR"])
    app.extensions["floe.plans"] = load_plans(
        site / "plans.toml", tenants(app), display_path="site/plans.toml"
    )
    stripe_client.init_app(app)
    app.jinja_env.globals["money"] = format_money
    app.register_blueprint(api.bp, url_prefix=prefix)
    app.register_blueprint(checkout.bp, url_prefix=prefix)
    if stripe_client.is_local_app(app):
        from dynamic.payments import local_stripe

        app.register_blueprint(local_stripe.bp, url_prefix=prefix)
    account_panel.init_app(app)
