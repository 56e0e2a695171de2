"""Sign-up, login (with remember-me) and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, decode_cookie, login_user, logout_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from dynamic.accounts import mails
from dynamic.accounts.forms import LoginForm, SignupForm
from dynamic.accounts.models import RememberDevice, User, spend_password_check_time
from dynamic.accounts.signals import sender, signed_up
from dynamic.core.db import db
from dynamic.core.forms import ActionForm, add_errors, entered, form_status
from dynamic.core.look import render
from dynamic.core.security import limiter

bp = Blueprint("auth", __name__, template_folder="templates")  # accounts/templates/

#: Says "this browser has logged in before", nothing more: the static pages ask /app/api/me
#: only when it is there. Not a secret, so readable by their script.
HINT_COOKIE = "floe_account"


def safe_next(target: str | None) -> str:
    """``next`` only when it is a path on this site; anything else goes to the account page."""
    fallback = url_for("account.index")
    if not target or "\\" in target or target.startswith("//"):
        return fallback
    if any(ord(c) < 32 or ord(c) == 127 for c in target):  # no header splitting
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return fallback
    return target


def start_session(user: User, remember: bool = False) -> None:
    """A fresh session for ``user``: nothing carried over from before the login. ``remember``
    ("keep me logged in") makes this browser a remembered device of its own."""
    session.clear()
    user.device_token = None
    if remember:
        lifetime = current_app.config["REMEMBER_COOKIE_DURATION"]
        user.device_token = RememberDevice.issue(user, lifetime)
        db.session.commit()
    login_user(user, remember=remember)


def set_hint(response: Response) -> Response:
    response.set_cookie(
        HINT_COOKIE,
        "1",
        max_age=365 * 86400,
        path="/",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=False,
        samesite="Lax",
    )
    return response


def end_session(response: Response) -> Response:
    """Log out on this device: session, remember-me cookie and hint go; messages stay. The
    device is forgotten, so a copy of its cookies no longer works either."""
    devices = _devices_of_this_browser()
    for token in devices:
        RememberDevice.forget(token)
    if devices:
        db.session.commit()
    flashes = session.get("_flashes")
    session.clear()
    logout_user()  # after clear(): it leaves the order to delete the remember-me cookie
    if flashes:
        session["_flashes"] = flashes
    response.delete_cookie(HINT_COOKIE, path="/")
    return response


def _devices_of_this_browser() -> set[str]:
    """The device tokens this browser holds: its session's, and its remember-me cookie's (a
    later login without "keep me logged in" leaves an earlier one's cookie in place)."""
    tokens = set()
    if current_user.is_authenticated and current_user.device_token:
        tokens.add(current_user.device_token)
    cookie = request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    payload = decode_cookie(cookie) if cookie else None  # None unless we signed it
    if payload and payload.count(":") == 2:
        tokens.add(payload.rsplit(":", 1)[1])
    return tokens


def _login_key() -> str:
    """Failed logins counted per account (by email), besides per address."""
    return "login:" + User.normalize(request.form.get("email", ""))


def _limit() -> str:
    return current_app.config["FLOE_LOGIN_LIMIT"]


def _signup_limit() -> str:
    return current_app.config["FLOE_SIGNUP_LIMIT"]


def _failed_login_key() -> str:
    return "failed-login:" + User.normalize(request.form.get("email", ""))


def _failed_login_address_key() -> str:
    return "failed-login-from:" + (request.remote_addr or "")


def _failed_account_limit() -> str:
    return current_app.config["FLOE_FAILED_LOGIN_ACCOUNT_LIMIT"]


def _failed_address_limit() -> str:
    return current_app.config["FLOE_FAILED_LOGIN_ADDRESS_LIMIT"]


def _login_failed(response: Response) -> bool:
    """Whether this answer refused a password (not a form error, not a busy host)."""
    return g.get("floe_login_failed", False)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        user = User(
            email=User.normalize(entered(form.email)), tenant=g.tenant.key, password_hash=""
        )
        user.set_password(entered(form.password))
        db.session.add(user)
        try:
            db.session.flush()  # the user's id, for what other areas keep of it (split tests)
            signed_up.send(sender(), user=user)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            add_errors(form.email, "An account with this email exists: log in instead.")
        else:
            start_session(user)
            if mails.send_verification(user):
                flash(f"Welcome! We sent a link to {user.email} to confirm the address.")
            else:
                flash("Welcome! We could not send the confirmation mail: ask for it again below.")
            return set_hint(redirect(safe_next(request.args.get("next"))))
    return render("accounts/signup.html", "Create your account", form_status(), form=form)


@bp.route("/login", methods=["GET", "POST"])
# Every attempt counts, before it is checked: counting only failures afterwards would let
# concurrent guesses through before the first one is counted.
@limiter.limit(_limit, methods=["POST"])
@limiter.limit(_limit, methods=["POST"], key_func=_login_key)
# Failed logins over hours, per account and per address, counted once the answer says so: in
# Redis when configured, so every worker and host counts together.
@limiter.limit(
    _failed_account_limit, methods=["POST"], key_func=_failed_login_key, deduct_when=_login_failed
)
@limiter.limit(
    _failed_address_limit,
    methods=["POST"],
    key_func=_failed_login_address_key,
    deduct_when=_login_failed,
)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = User.find(entered(form.email))
        if user is None:
            spend_password_check_time(entered(form.password))
        elif user.check_password(entered(form.password)) and user.is_active:
            start_session(user, remember=form.remember.data)
            return set_hint(redirect(safe_next(request.args.get("next"))))
        g.floe_login_failed = True
        add_errors(form.password, "Wrong email or password.")
    return render("accounts/login.html", "Log in", form_status(), form=form)


@bp.post("/logout")
def logout():
    if ActionForm().validate_on_submit():
        return end_session(redirect("/"))
    return redirect(url_for("account.index"))
