"""The service's forms (Flask-WTF: every one carries a CSRF token).

Every text field has a maximum length, so an over-long value is the form's error (400), never
work for the password hash or a value the database refuses; a NUL is refused before any form
is read (dynamic/core/inputs.py).
"""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

PASSWORD_MIN = 10
#: New passwords are at most this long, so a current password is too.
PASSWORD_MAX = 256
#: An email address (RFC 5321), users.email's length.
EMAIL_MAX = 320
#: Keys of sites, variants: their columns' length.
KEY_MAX = 64


def form_status() -> int:
    """A form page answers 200 when shown, 400 when shown again with the errors of a post."""
    return 200 if request.method == "GET" else 400


def _email(label: str = "Email") -> EmailField:
    return EmailField(label, validators=[DataRequired(), Email(), Length(max=EMAIL_MAX)])


def _new_password(label: str = "Password") -> PasswordField:
    return PasswordField(
        label, validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)]
    )


def _confirm() -> PasswordField:
    return PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
    )


def _current_password() -> PasswordField:
    return PasswordField(
        "Your current password", validators=[DataRequired(), Length(max=PASSWORD_MAX)]
    )


class SignupForm(FlaskForm):
    email = _email()
    password = _new_password()
    confirm = _confirm()


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=EMAIL_MAX)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField("Keep me logged in on this device")


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token (logout, admin actions…)."""


class ResetRequestForm(FlaskForm):
    email = _email()


class NewPasswordForm(FlaskForm):
    password = _new_password("New password")
    confirm = _confirm()


class ChangeEmailForm(FlaskForm):
    email = _email("New email")
    current_password = _current_password()


class ChangePasswordForm(FlaskForm):
    current_password = _current_password()
    password = _new_password("New password")
    confirm = _confirm()


class DeleteAccountForm(FlaskForm):
    current_password = _current_password()
    confirm = BooleanField(
        "Delete my account and my personal data. This cannot be undone.",
        validators=[DataRequired("Tick the box to confirm.")],
    )


class ReportFilterForm(FlaskForm):
    """The split-test report's filters, read from the query string: a GET form, no token.
    The view sets the tenant's choices."""

    class Meta:
        csrf = False

    tenant = SelectField("Site", validate_choice=False, validators=[Length(max=KEY_MAX)])
    since = DateField("Since", validators=[Optional()])

    def validate_tenant(self, field: SelectField) -> None:
        known = [key for key, _ in field.choices if key]
        if field.data and field.data not in known:
            raise ValidationError(f"No site {field.data[:64]!r} here: choose {', '.join(known)}.")


class DecisionForm(FlaskForm):
    """Stop a split test: everyone is shown the winner, or the control when none is declared.
    The view sets the choices; dynamic/split_tests/decisions.py says why a winner is refused."""

    winner = SelectField("Everyone sees from now on", validate_choice=False)
