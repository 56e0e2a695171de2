"""The payments' mails: a renewal could not be charged. The body is a template beside it
(``templates/payments/email/``, text and HTML); the link points at the user's own site."""

from __future__ import annotations

import datetime as dt

from dynamic.accounts.models import User
from dynamic.core.mails import link_for, send, site_name
from dynamic.payments.plans import format_money


def send_payment_failed(user: User, amount: int, currency: str, retry: dt.datetime | None) -> bool:
    """A subscription's renewal could not be charged: ask the user to check their card."""
    return send(
        user.email,
        f"Your {site_name(user)} payment did not go through",
        "payments/email/payment_failed",
        site=site_name(user),
        amount=format_money(amount, currency),
        retry=retry,
        link=link_for(user, "pay.billing"),
    )
