"""Sign-up, login (with remember-me) and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from dynamic.db import db
from dynamic.models import User, spend_password_check_time
from dynamic.security import limiter

bp = Blueprint("auth", __name__)

PASSWORD_MIN = 10


class SignupForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(min=PASSWORD_MIN, max=256)]
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
    )


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me logged in on this device")


class LogoutForm(FlaskForm):
    """Nothing but the CSRF token: logging out is a POST."""


def safe_next(target: str | None) -> str:
    """``next`` only when it is a path on this site; anything else goes to the account page."""
    fallback = url_for("auth.account")
    if not target or "\\\\" in target or target.startswith("//"):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return fallback
    return target


def _login_key() -> str:
    """Failed logins counted per account (by email), besides per address."""
    return "login:" + User.normalize(request.form.get("email", ""))


def _failed(response) -> bool:
    return response.status_code != 302


def _limit() -> str:
    return current_app.config["FLOE_LOGIN_LIMIT"]


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        user = User(email=User.normalize(form.email.data), tenant=g.tenant.key, password_hash="")
        user.set_password(form.password.data)
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            form.email.errors.append("An account with this email exists: log in instead.")
        else:
            session.clear()
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/signup.html", form=form), 200 if request.method == "GET" else 400


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_limit, methods=["POST"], key_func=_login_key, deduct_when=_failed)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = User.find(form.email.data)
        if user is None:
            spend_password_check_time(form.password.data)
        elif user.is_active and user.check_password(form.password.data):
            session.clear()  # a new session at login: nothing carried over from before
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append("Wrong email or password.")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 400


@bp.post("/logout")
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
    return redirect("/")


@bp.get("/account")
@login_required
def account():
    return render_template("auth/account.html", logout=LogoutForm(), user=current_user)
