"""The admin: users and payments (views.py), split tests with their reports and decisions
(experiment_pages.py), and the operators' commands ``create-admin`` and ``user show``
(cli.py)."""

from __future__ import annotations

from flask import Flask

from dynamic.admin import cli, views


def init_app(app: Flask, prefix: str) -> None:
    app.register_blueprint(views.bp, url_prefix=prefix + "/admin")
    cli.init_app(app)
