"""What payments add to the account page (the plan and the latest payments) and to deleting
an account (not while a subscription renews): receivers of the accounts' signals
(dynamic/accounts/signals.py), connected in ``dynamic.payments.init_app``."""

from __future__ import annotations

from typing import Any

from flask import Flask

from dynamic.accounts.signals import Panel, account_page, deleting_account
from dynamic.core.db import db
from dynamic.payments import ledger
from dynamic.payments.models import Subscription

#: The account page shows the latest payments; the billing page shows them all.
RECENT_PAYMENTS = 5


def plan_panel(app: Flask, user: Any) -> Panel:
    payments = ledger.payments_of(user.id, RECENT_PAYMENTS)
    return Panel(
        "payments/_account_plan.html",
        {
            "entitlement": ledger.entitlement(user.id),
            "payments": payments,
            "held": ledger.held_disputes(p.id for p in payments),
            "plans": ledger.plans(),
        },
    )


def renewing_subscription(app: Flask, user: Any) -> str | None:
    renewing = db.session.scalar(
        db.select(Subscription.id)
        .where(
            Subscription.user_id == user.id,
            Subscription.status.in_(ledger.ENTITLED),
            Subscription.cancel_at_period_end.is_(False),
        )
        .limit(1)
    )
    if renewing is None:
        return None
    return (
        "Your subscription still renews: cancel it under Billing first, so nothing is "
        "charged after your account is gone."
    )


def init_app(app: Flask) -> None:
    account_page.connect(plan_panel, app)
    deleting_account.connect(renewing_subscription, app)
