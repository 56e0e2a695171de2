"""The accounts' mails: confirm an address, reset a password, an address was changed. Their
bodies are templates beside them (``templates/accounts/email/``, text and HTML); links point at
the user's own tenant, whoever asked for them (dynamic/core/mails.py).

A reset link asked for on the reset page is sent after the response (:func:`queue_reset`), so
the page answers alike for every address; the other mails go at once, so the user (or the
admin) is told when sending failed.
"""

from __future__ import annotations

from typing import Any

from flask import g

from dynamic.accounts.models import UNUSABLE_PASSWORD, User
from dynamic.accounts.tokens import Purpose, make_token, max_age
from dynamic.core.mails import compose, link_for, send, send_later, site_name

RESET = "accounts/email/reset_password"


def send_verification(user: User) -> bool:
    return send(
        user.email,
        f"Confirm your email address for {site_name(user)}",
        "accounts/email/verify",
        user=user,
        site=site_name(user),
        link=link_for(user, "account.verify", token=make_token(user, Purpose.VERIFY)),
        days=max_age(Purpose.VERIFY) // 86400,
    )


def _reset_mail(user: User) -> tuple[str, str, str, dict[str, Any]]:
    link = link_for(user, "reset.choose_password", token=make_token(user, Purpose.RESET))
    context = {"user": user, "link": link, "minutes": max_age(Purpose.RESET) // 60}
    return user.email, f"Reset your {site_name(user)} password", RESET, context


def send_reset(user: User) -> bool:
    """Mail a reset link now (the admin's button: it says whether the mail went)."""
    to, subject, template, context = _reset_mail(user)
    return send(to, subject, template, **context)


def queue_reset(user: User | None, address: str) -> None:
    """Mail ``user`` a reset link once the response is sent; a failure is logged.

    The reset page must answer the same, as fast, for an address without an account (``user``
    None): the same mail is then written for a stand-in and dropped, as logins check a password
    against a stand-in hash (accounts.models.spend_password_check_time).
    """
    stand_in = User(id=0, email=address, tenant=g.tenant.key, password_hash=UNUSABLE_PASSWORD)
    to, subject, template, context = _reset_mail(user or stand_in)
    if user is not None:
        send_later(to, subject, template, **context)
    else:
        compose(template, subject=subject, **context)  # the same work, and dropped


def send_email_changed(old_address: str, user: User) -> bool:
    return send(
        old_address,
        f"Your {site_name(user)} email address was changed",
        "accounts/email/email_changed",
        user=user,
        site=site_name(user),
        old_address=old_address,
    )
