"""Accounts: sign-up, login and sessions (auth.py, sessions.py), the account page
(account.py), password reset (reset.py), signed links (tokens.py) and the mails they send
(mails.py). Other areas hear of sign-ups and add to the account page through signals.py."""

from __future__ import annotations

from flask import Flask

from dynamic.accounts import account, auth, reset, sessions, signals


def init_app(app: Flask, prefix: str) -> None:
    from dynamic.accounts import models  # noqa: F401  (the tables, for migrations)

    signals.init_app(app)
    sessions.init_app(app)
    for blueprint in (auth.bp, account.bp, reset.bp):
        app.register_blueprint(blueprint, url_prefix=prefix)
