"""Sessions, CSRF and rate limits: Flask-Login, Flask-WTF and Flask-Limiter, set up once."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from dynamic.db import db

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    limiter.init_app(app)


@login_manager.user_loader
def load_user(user_id: str):
    """Session and remember-me cookies carry ``id:token``; a new token ends every one of them."""
    from dynamic.models import User

    number, _, token = user_id.partition(":")
    if not number.isdigit() or not token:
        return None
    user = db.session.get(User, int(number))
    if user is None or not user.is_active or user.session_token != token:
        return None
    return user
