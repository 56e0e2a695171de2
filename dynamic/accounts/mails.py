"""The mails the service sends, and what happens when sending fails (it is logged; the
caller tells the user). Links point at the user's own tenant, whoever asked for them.

A reset link asked for on the reset page is sent after the response (:func:`queue_reset`), so
the page answers alike for every address; the other mails go at once, so the user (or the
admin) is told when sending failed.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, request

from dynamic.core.mail import MailError, send_after_response, send_mail
from dynamic.accounts.models import UNUSABLE_PASSWORD, User
from dynamic.core.site_url import absolute_url
from dynamic.core.tenancy import tenants
from dynamic.accounts.tokens import Purpose, make_token, max_age


def _link(user: User, endpoint: str, **values: str) -> str:
    """An absolute link on the site where ``user`` signed up (an admin may be on another),
    from the configured site URL: never from the request's Host (dynamic/core/site_url.py)."""
    return absolute_url(tenants(current_app).get(user.tenant, g.tenant), endpoint, **values)


def _send(to: str, subject: str, text: str) -> bool:
    try:
        send_mail(to, subject, text)
    except MailError as error:
        current_app.logger.error(
            "mail to %s failed (%s %s): %s", to, request.method, request.path, error
        )
        return False
    return True


def _site(user: User) -> str:
    registry = tenants(current_app)
    return registry[user.tenant].name if user.tenant in registry else g.tenant.name


def send_verification(user: User) -> bool:
    link = _link(user, "account.verify", token=make_token(user, Purpose.VERIFY))
    days = max_age(Purpose.VERIFY) // 86400
    return _send(
        user.email,
        f"Confirm your email address for {_site(user)}",
        f"Hello,\n\nPlease confirm that {user.email} is your address by opening this link "
        f"(it works for {days} days):\n\n{link}\n\nIf you did not create an account on "
        f"{_site(user)}, ignore this mail.\n",
    )


def _reset_mail(user: User) -> tuple[str, str, str]:
    link = _link(user, "reset.choose_password", token=make_token(user, Purpose.RESET))
    minutes = max_age(Purpose.RESET) // 60
    return (
        user.email,
        f"Reset your {_site(user)} password",
        f"Hello,\n\nSomeone (we hope you) asked to reset the password of {user.email}. "
        f"Choose a new one here (the link works once, for {minutes} minutes):\n\n{link}\n\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n",
    )


def send_reset(user: User) -> bool:
    """Mail a reset link now (the admin's button: it says whether the mail went)."""
    return _send(*_reset_mail(user))


def queue_reset(user: User | None, address: str) -> None:
    """Mail ``user`` a reset link once the response is sent; a failure is logged.

    The reset page must answer the same, as fast, for an address without an account (``user``
    None): the same mail is then written for a stand-in and dropped, as logins check a password
    against a stand-in hash (models.spend_password_check_time).
    """
    stand_in = User(id=0, email=address, tenant=g.tenant.key, password_hash=UNUSABLE_PASSWORD)
    to, subject, text = _reset_mail(user or stand_in)
    if user is not None:
        send_after_response(to, subject, text)


def send_email_changed(old_address: str, user: User) -> bool:
    return _send(
        old_address,
        f"Your {_site(user)} email address was changed",
        f"Hello,\n\nThe email address of your {_site(user)} account was changed from "
        f"{old_address} to {user.email}. If you did not do this, someone may know your "
        "password: reset it from the login page at once, then contact us.\n",
    )


def send_payment_failed(user: User, amount: int, currency: str, retry: dt.datetime | None) -> bool:
    """A subscription's renewal could not be charged: ask the user to check their card."""
    from dynamic.payments.plans import format_money

    link = _link(user, "pay.billing")
    when = (
        f"We will try again on {retry:%d %B %Y}. "
        if retry
        else "We will not try again automatically. "
    )
    return _send(
        user.email,
        f"Your {_site(user)} payment did not go through",
        f"Hello,\n\nWe could not charge {format_money(amount, currency)} for the renewal of "
        f"your {_site(user)} subscription. {when}To keep your plan, check or change your card "
        f"here:\n\n{link}\n\nIf you meant to stop, there is nothing to do: the subscription "
        "ends when the retries run out.\n",
    )
