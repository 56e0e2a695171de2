"""The accounts' forms (Flask-WTF: every one carries a CSRF token).

Every text field has a maximum length, so an over-long value is the form's error (400), never
work for the password hash or a value the database refuses; a NUL is refused before any form
is read (dynamic/core/inputs.py).
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

PASSWORD_MIN = 10
#: New passwords are at most this long, so a current password is too.
PASSWORD_MAX = 256
#: An email address (RFC 5321), users.email's length.
EMAIL_MAX = 320


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
