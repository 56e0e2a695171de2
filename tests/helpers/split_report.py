"""Known records for the split-test report (exposures, sign-ups, payments, refunds,
chargebacks, two currencies, two tenants, days inside and outside the window), and the service
with this report's two experiments: tests/test_split_report.py checks each figure,
tests/test_split_report_cli.py the command that prints them."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from pathlib import Path

from sqlalchemy import insert

from dynamic.accounts.models import User
from dynamic.core.db import db
from dynamic.payments.models import Dispute, Payment
from dynamic.split_tests.models import Exposure, UserAssignment
from dynamic.split_tests.report import Report, build_report
from tests.conftest import REPO, migrated_service

KEY = "pricing-headline"
EXPERIMENTS = """
[experiments.pricing-headline]
tenants = "all"
pages = ["pricing"]
status = "running"
variants = [{ key = "control", weight = 0.5 }, { key = "annual", weight = 0.5 }]

[experiments.home-hero]
tenants = ["freelancers"]
pages = ["home"]
status = "stopped"
variants = [
  { key = "control", weight = 0.4 }, { key = "short", weight = 0.3 }, { key = "long", weight = 0.3 }
]
"""
WINDOW = dt.date(2026, 11, 1)
_ids = itertools.count(1)


def report_app(database_url: str, tmp_path: Path):
    """The service with this file's two experiments, on a migrated database."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "site", site)
    (site / "experiments.toml").write_text(EXPERIMENTS)
    return migrated_service(database_url, FLOE_SITE_DIR=str(site))


def at(day: str, time: str = "12:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}+00:00")


def expose(variant: str, count: int, day: str, tenant: str = "freelancers", **kw) -> None:
    """``count`` exposures of ``variant`` (in one statement), seen at ``day``'s noon UTC."""
    seen = at(day, kw.pop("time", "12:00"))
    rows = [
        {
            "visitor_id": f"visitor-{next(_ids)}",
            "experiment": kw.get("experiment", KEY),
            "variant": variant,
            "tenant": tenant,
            "seen_at": seen,
        }
        for _ in range(count)
    ]
    db.session.execute(insert(Exposure), rows)


def sign_ups(
    variant: str, count: int, day: str, tenant: str = "freelancers", experiment: str = KEY
) -> list[int]:
    """``count`` users who signed up in ``variant`` of ``experiment`` on ``day``."""
    users = [
        User(email=f"user-{next(_ids)}@example.com", tenant=tenant, password_hash="!")
        for _ in range(count)
    ]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all(
        UserAssignment(
            user_id=u.id, experiment=experiment, variant=variant, assigned_at=at(day, "09:30")
        )
        for u in users
    )
    db.session.flush()
    return [u.id for u in users]


def pay(user: int, amount: int, currency: str = "usd", status: str = "paid", refunded: int = 0):
    number = next(_ids)
    payment = Payment(
        user_id=user,
        status=status,
        amount=amount,
        currency=currency,
        amount_refunded=refunded,
        payment_intent_id=f"pi_{number}",
        charge_id=f"ch_{number}",
        created_at=at("2026-11-15"),
    )
    db.session.add(payment)
    db.session.flush()
    return payment.id


def chargeback(payment: int, amount: int, status: str, currency: str = "usd") -> None:
    db.session.add(
        Dispute(
            id=f"dp_{next(_ids)}",
            payment_id=payment,
            amount=amount,
            currency=currency,
            status=status,
            created_at=at("2026-11-16"),
            state_at=at("2026-11-16"),
        )
    )


def seed() -> dict[str, dict[str, list[int]]]:
    """The known records (see the counts in the tests), inside an app context. Returns each
    variant's per-user net revenue per currency for the freelancers from WINDOW on (the
    users who paid; every other exposed visitor is a 0)."""
    # Exposures. Freelancers in the window, agencies, freelancers before it.
    expose("control", 40, "2026-11-10")
    expose("control", 60, "2026-11-11")
    expose("control", 10, "2026-11-11", tenant="agencies")
    expose("control", 20, "2026-10-01")
    expose("annual", 50, "2026-11-10")
    expose("annual", 50, "2026-11-12")
    expose("annual", 5, "2026-11-12", tenant="agencies")
    expose("annual", 10, "2026-10-01")
    expose("control", 7, "2026-11-10", experiment="home-hero")  # another test: never counted

    # Control, freelancers, in the window: 10 sign-ups, 6 of them paid.
    c = sign_ups("control", 4, "2026-11-10") + sign_ups("control", 6, "2026-11-11")
    pay(c[0], 1200)
    pay(c[1], 9900, refunded=9900)  # refunded in full: a payer worth 0
    chargeback(pay(c[2], 2900, "eur"), 1000, "needs_response", "eur")  # held: 1900 left
    pay(c[3], 1200)
    pay(c[3], 1200, status="failed")  # never counts
    chargeback(pay(c[4], 1200), 1200, "won")  # won back: 1200
    db.session.get(User, c[4]).anonymise()  # a deleted account still counts
    chargeback(pay(c[5], 1200), 1200, "warning_needs_response")  # an inquiry takes nothing
    # Annual, freelancers, in the window: 15 sign-ups.
    a = sign_ups("annual", 7, "2026-11-10") + sign_ups("annual", 8, "2026-11-12")
    pay(a[0], 1200)
    pay(a[1], 1200)
    pay(a[2], 9900, refunded=4900)  # 5000
    pay(a[3], 2900, "eur")
    pay(a[4], 1200, status="pending")  # not paid yet
    chargeback(pay(a[5], 1200), 1200, "lost")  # lost: a payer worth 0
    pay(a[6], 1200)
    pay(a[6], 1200)  # one user, two payments: 2400
    # Agencies: one paying control sign-up, two annual ones who never paid.
    pay(sign_ups("control", 1, "2026-11-11", tenant="agencies")[0], 4500)
    sign_ups("annual", 2, "2026-11-12", tenant="agencies")
    # Before the window.
    pay(sign_ups("control", 2, "2026-10-01")[0], 1200)
    sign_ups("annual", 1, "2026-10-01")
    # Payers outside this experiment.
    pay(sign_ups("control", 1, "2026-11-10", experiment="home-hero")[0], 9900)
    pay(sign_ups("control", 1, "2026-11-10", experiment="nothing")[0], 9900)
    db.session.commit()
    return {
        "control": {"usd": [1200, 0, 1200, 1200, 1200], "eur": [1900]},
        "annual": {"usd": [1200, 1200, 5000, 0, 2400], "eur": [2900]},
    }


def split_of(annual: int) -> None:
    """5,000 control exposures and ``annual`` annual ones, 250 sign-ups each (50/50 weights)."""
    expose("control", 5000, "2026-11-10")
    expose("annual", annual, "2026-11-10")
    sign_ups("control", 250, "2026-11-10")
    sign_ups("annual", 250, "2026-11-10")
    db.session.commit()


def experiment(app, key: str = KEY):
    return app.extensions["floe.experiments"][key]


def report(app, key: str = KEY, **filters) -> Report:
    with app.app_context():
        return build_report(experiment(app, key), **filters)
