"""Password reset: ask for a link by email, then choose a new password with it.

The answer to a request is the same whether an account has the address or not, and takes as
long (the mail goes after the response), so the page tells nobody who has an account. The
link expires (FLOE_RESET_MAX_AGE) and dies once the password changes (see tokens.py).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for

from dynamic.accounts import mails
from dynamic.accounts.auth import set_hint, start_session
from dynamic.accounts.forms import NewPasswordForm, ResetRequestForm
from dynamic.accounts.models import User
from dynamic.accounts.tokens import Purpose, TokenError, user_for_token
from dynamic.core.db import db
from dynamic.core.forms import entered, form_status
from dynamic.core.look import render
from dynamic.core.security import limiter

bp = Blueprint("reset", __name__)


def _limit() -> str:
    return current_app.config["FLOE_RESET_LIMIT"]


def _email_key() -> str:
    return "reset:" + User.normalize(request.form.get("email", ""))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
@limiter.limit(_limit, methods=["POST"], key_func=_email_key)
def request_link():
    form = ResetRequestForm()
    if form.validate_on_submit():
        address = User.normalize(entered(form.email))
        user = User.find(address)
        # The same steps for every address; the mail, if any, goes after the response.
        mails.queue_reset(user if user is not None and user.is_active else None, address)
        flash(
            f"If an account uses {address}, we sent it a link to choose a new password. "
            "It works once, for a limited time."
        )
        return redirect(url_for("auth.login"))
    return render("accounts/reset_request.html", "Reset your password", form_status(), form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def choose_password(token: str):
    try:
        user = user_for_token(token, Purpose.RESET)
    except TokenError as error:
        message = (
            "This link has expired."
            if error.expired
            else "This link is not valid: it was used already, or the password has changed since."
        )
        return render("accounts/reset_invalid.html", "Link not valid", 400, message=message)
    form = NewPasswordForm()
    if form.validate_on_submit():
        user.set_password(entered(form.password))  # the link dies with the old password
        user.mark_verified()  # it came by mail: the address is the user's
        db.session.commit()
        start_session(user)
        flash("Your new password is set. Every other device was logged out.")
        return set_hint(redirect(url_for("account.index")))
    return render(
        "accounts/reset.html", "Choose a new password", form_status(), form=form, email=user.email
    )
