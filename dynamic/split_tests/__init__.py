"""Split tests: how a visitor gets a variant (assignment.py: the first view, the assignment
and the exposure beacon), signed visitor ids (visitor_ids.py), admins' decisions
(decisions.py), the report (report.py) with its statistics (stats.py) and chart (chart.py),
revenue per bucket (revenue.py) and the ``split`` commands (cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from dynamic.accounts.signals import signed_up
from dynamic.core.tenancy import tenants
from dynamic.split_tests import assignment, cli
from floe.experiments import load_experiments


def copy_buckets(app: Flask, user: Any) -> None:
    """At sign-up, the visitor's buckets become the user's (assignment.attribute)."""
    assignment.attribute(user)


def init_app(app: Flask, prefix: str) -> None:
    from dynamic.split_tests import models  # noqa: F401  (the tables, for migrations)

    site = Path(app.config["FLOE_SITE_DIR"])
    app.extensions["floe.experiments"] = load_experiments(
        site / "experiments.toml", tenants(app), display_path="site/experiments.toml"
    )
    app.register_blueprint(assignment.bp, url_prefix=prefix)
    cli.init_app(app)
    signed_up.connect(copy_buckets, app)
