"""The account page: change email or password, confirm the email, log out everywhere, delete."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from dynamic.accounts import mails
from dynamic.accounts.auth import end_session, start_session
from dynamic.accounts.forms import ChangeEmailForm, ChangePasswordForm, DeleteAccountForm
from dynamic.accounts.models import User
from dynamic.accounts.sessions import signed_in_user
from dynamic.accounts.signals import account_page, answers, deleting_account
from dynamic.accounts.tokens import Purpose, TokenError, user_for_token
from dynamic.core.db import db
from dynamic.core.forms import ActionForm, add_errors, entered
from dynamic.core.look import render
from dynamic.core.security import limiter

bp = Blueprint("account", __name__)


def _guesses() -> str:
    """Forms that check the current password: a stolen session must not brute-force it."""
    return f"password-check:{current_user.id}"


guarded = limiter.limit("10 per hour", key_func=_guesses, methods=["POST"])


def _forms(**bound: FlaskForm) -> dict[str, FlaskForm]:
    """The page's forms, each with its own field prefix; ``bound`` holds the one submitted."""
    forms = {
        "email_form": ChangeEmailForm(prefix="email", formdata=None),
        "password_form": ChangePasswordForm(prefix="password", formdata=None),
        "delete_form": DeleteAccountForm(prefix="delete", formdata=None),
        "action": ActionForm(formdata=None),
    }
    forms.update(bound)
    return forms


def _page(status: int = 200, **bound: FlaskForm):
    panels = answers(account_page, current_user)
    shown: dict[str, object] = {}
    for panel in panels:  # what other areas show here (payments: the plan), in their templates
        shown.update(panel.context)
    return render(
        "accounts/account.html",
        "Your account",
        status,
        user=current_user,
        panels=[panel.template for panel in panels],
        **shown,
        **_forms(**bound),
    )


def _another_admin() -> bool:
    return (
        db.session.scalar(
            db.select(User.id)
            .where(User.is_admin, User.is_active, User.id != current_user.id)
            .limit(1)
        )
        is not None
    )


def _password_confirmed(form: FlaskForm) -> bool:
    if current_user.check_password(entered(form.current_password)):
        return True
    add_errors(form.current_password, "That is not your current password.")
    return False


@bp.get("/account")
@login_required
def index():
    return _page()


@bp.post("/account/email")
@login_required
@guarded
def change_email():
    form = ChangeEmailForm(prefix="email")
    if not (form.validate_on_submit() and _password_confirmed(form)):
        return _page(400, email_form=form)
    old, new = current_user.email, User.normalize(entered(form.email))
    if new == old:
        add_errors(form.email, "That is already your address.")
        return _page(400, email_form=form)
    current_user.email, current_user.email_verified_at = new, None
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        add_errors(form.email, "Another account uses this address.")
        return _page(400, email_form=form)
    mails.send_email_changed(old, current_user)
    if mails.send_verification(current_user):
        flash(f"Your address is now {new}. We sent a link there to confirm it.")
    else:
        flash(f"Your address is now {new}. We could not send the confirmation mail: try again.")
    return redirect(url_for("account.index"))


@bp.post("/account/password")
@login_required
@guarded
def change_password():
    form = ChangePasswordForm(prefix="password")
    if not (form.validate_on_submit() and _password_confirmed(form)):
        return _page(400, password_form=form)
    user = signed_in_user()
    user.set_password(entered(form.password))  # ends every session, this one too…
    db.session.commit()
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    start_session(user, remember=remembered in request.cookies)  # …so start a new one
    flash("Your password is changed. Every other device was logged out.")
    return redirect(url_for("account.index"))


@bp.post("/account/sessions")
@login_required
def logout_everywhere():
    if not ActionForm().validate_on_submit():
        return _page(400)
    current_user.end_sessions()
    db.session.commit()
    flash("You are logged out on every device, this one too.")
    return end_session(redirect(url_for("auth.login")))


@bp.post("/account/delete")
@login_required
@guarded
def delete():
    form = DeleteAccountForm(prefix="delete")
    if not (form.validate_on_submit() and _password_confirmed(form)):
        return _page(400, delete_form=form)
    if current_user.is_admin and not _another_admin():
        add_errors(form.confirm, "You are the last admin: make someone else admin first.")
        return _page(400, delete_form=form)
    refusals = answers(deleting_account, current_user)  # payments: a subscription renews
    if refusals:
        add_errors(form.confirm, refusals)
        return _page(400, delete_form=form)
    current_user.anonymise()
    db.session.commit()
    flash("Your account is deleted, with your personal data. Thank you for trying us.")
    return end_session(redirect(url_for("auth.login")))


@bp.post("/account/verify")
@login_required
@limiter.limit("5 per hour", key_func=lambda: f"verify:{current_user.id}")
def resend_verification():
    if not ActionForm().validate_on_submit():
        return _page(400)
    if current_user.is_verified:
        flash("Your address is already confirmed.")
    elif mails.send_verification(current_user):
        flash(f"We sent a new link to {current_user.email}.")
    else:
        flash("We could not send the mail. Please try again in a few minutes.")
    return redirect(url_for("account.index"))


@bp.get("/verify/<token>")
def verify(token: str):
    try:
        user = user_for_token(token, Purpose.VERIFY)
    except TokenError as error:
        message = (
            "This link has expired. Log in and ask for a new one on your account page."
            if error.expired
            else "This link is not valid (any more). Log in to ask for a new one."
        )
        return render(
            "core/message.html", "Link not valid", 400, heading="Link not valid", message=message
        )
    user.mark_verified()
    db.session.commit()
    return render(
        "core/message.html",
        "Email confirmed",
        heading="Email confirmed",
        message=f"Thank you: {user.email} is confirmed.",
    )
