"""Commands for operators: ``flask --app dynamic create-admin EMAIL`` (create an admin, or
promote an existing user), ``split assign`` and ``split revenue`` (split tests), ``user show
EMAIL`` (a user's buckets, payments and lifetime value, for support)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import with_appcontext

from dynamic import ledger
from dynamic.db import db
from dynamic.forms import PASSWORD_MIN
from dynamic.models import User, UserAssignment, as_utc
from dynamic.plans import format_money
from dynamic.tenancy import tenants


@click.command("create-admin")
@click.argument("email")
@click.option(
    "--tenant",
    help="The tenant a new account belongs to (a key of site/tenants.toml; default: the first).",
)
@click.password_option(
    "--password",
    prompt="Password for a new account",
    prompt_required=False,
    help="For a new account only; asked for when missing.",
)
@with_appcontext
def create_admin(email: str, tenant: str | None, password: str | None) -> None:
    """Make EMAIL an admin: promote the account that has it, or create one."""
    registry = tenants(current_app)
    try:
        address = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise click.BadParameter(str(error), param_hint="EMAIL") from None
    user = User.find(address)
    if user is not None:
        if user.deleted_at is not None:
            raise click.ClickException(f"{address} belongs to a deleted account.")
        user.is_admin = user.is_active = True
        db.session.commit()
        click.echo(f"{user.email} is now an admin (account {user.id}).")
        return
    if tenant is not None and tenant not in registry:
        raise click.BadParameter(
            f"no tenant {tenant!r}; site/tenants.toml has: {', '.join(registry)}",
            param_hint="--tenant",
        )
    if password is None:
        password = click.prompt(
            "Password for a new account", hide_input=True, confirmation_prompt=True
        )
    if len(password) < PASSWORD_MIN:
        raise click.BadParameter(f"use {PASSWORD_MIN} characters or more", param_hint="--password")
    user = User(
        email=User.normalize(address),
        tenant=tenant or next(iter(registry)),
        password_hash="",
        is_admin=True,
    )
    user.set_password(password)
    user.mark_verified()
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created admin {user.email} (account {user.id}, tenant {user.tenant}).")


@click.group("split")
def split_group() -> None:
    """Split tests: see which variant visitors get."""


@split_group.command("assign")
@click.argument("experiment")
@click.argument("visitor_ids", nargs=-1)
@with_appcontext
def split_assign(experiment: str, visitor_ids: tuple[str, ...]) -> None:
    """Print VISITOR_ID<TAB>VARIANT for each id (from stdin, one per line, when none is given).

    The variant is what the visitor gets while the experiment runs; "-" means outside the
    experiment's coverage (shown the control, not counted). For support and audits.
    """
    from dynamic.split import experiments

    known = experiments()
    if experiment not in known:
        raise click.BadParameter(
            f"no experiment {experiment!r} in site/experiments.toml"
            + (f"; it has: {', '.join(known)}" if known else ""),
            param_hint="EXPERIMENT",
        )
    test = known[experiment]
    ids = visitor_ids or (line.strip() for line in sys.stdin)
    for visitor in ids:
        if visitor:
            variant = test.assign(visitor)
            click.echo(f"{visitor}\t{variant.key if variant else '-'}")


@split_group.command("revenue")
@click.argument("experiment", required=False)
@with_appcontext
def split_revenue(experiment: str | None) -> None:
    """Print each bucket's users, payers and revenue (net of refunds and disputes), per
    currency: EXPERIMENT<TAB>VARIANT<TAB>USERS<TAB>CURRENCY<TAB>PAYERS<TAB>REVENUE (minor units)."""
    sizes = ledger.bucket_sizes(experiment)
    revenue: dict[tuple[str, str], list[ledger.BucketRevenue]] = {}
    for row in ledger.bucket_revenue(experiment):
        revenue.setdefault((row.experiment, row.variant), []).append(row)
    for bucket in sorted(set(sizes) | set(revenue)):
        users = sizes.get(bucket, 0)
        for row in revenue.get(bucket) or [None]:
            money = f"{row.currency}\t{row.payers}\t{row.revenue}" if row else "-\t0\t0"
            click.echo(f"{bucket[0]}\t{bucket[1]}\t{users}\t{money}")


@click.group("user")
def user_group() -> None:
    """Users: look one up for support."""


@user_group.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@with_appcontext
def user_show(email: str, as_json: bool) -> None:
    """Print the user, their split-test buckets, payments and lifetime value per currency."""
    user = User.find(email)
    if user is None:
        raise click.ClickException(f"no account has the email {email!r}")
    summary = user_summary(user)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    joined = f"{user.created_at:%Y-%m-%d}"
    click.echo(f"{user.email} (account {user.id}, {user.tenant}, signed up {joined})")
    until = summary["paid_until"]
    paid = f"yes, {summary['plan']} until {until}" if until else f"yes, {summary['plan']} for good"
    click.echo(f"Paid: {paid if summary['paid'] else 'no'}")
    buckets = ", ".join(f"{exp}={variant}" for exp, variant in summary["buckets"].items())
    click.echo(f"Buckets: {buckets or 'none'}")
    click.echo("Payments:" if summary["payments"] else "Payments: none")
    for p in summary["payments"]:
        amount = format_money(p["amount"], p["currency"])
        refunded = format_money(p["amount_refunded"], p["currency"])
        ids = " ".join(i for i in (p["invoice"], p["payment_intent"], p["charge"]) if i)
        click.echo(
            f"  {p['created_at'][:10]}  {amount}  {p['status']}  refunded {refunded}"
            f"  disputed {format_money(p['disputed'], p['currency'])}  {p['plan'] or '-'}  {ids}"
        )
    value = ", ".join(format_money(a, c) for c, a in summary["lifetime_value"].items())
    click.echo(f"Lifetime value: {value or 'none'}")


def user_summary(user: User) -> dict[str, Any]:
    """The support view of ``user`` (the JSON of ``user show --json``)."""
    payments = ledger.payments_of(user.id)
    held = ledger.held_disputes(p.id for p in payments)
    paid = ledger.entitlement(user.id)
    buckets = db.session.scalars(
        db.select(UserAssignment)
        .where(UserAssignment.user_id == user.id)
        .order_by(UserAssignment.experiment)
    )
    return {
        "id": user.id,
        "email": user.email,
        "tenant": user.tenant,
        "buckets": {bucket.experiment: bucket.variant for bucket in buckets},
        "payments": [
            {
                "created_at": as_utc(p.created_at).isoformat(),
                "status": p.status,
                "amount": p.amount,
                "currency": p.currency,
                "amount_refunded": p.amount_refunded,
                "disputed": held.get(p.id, 0),
                "plan": p.plan,
                "payment_intent": p.payment_intent_id,
                "invoice": p.invoice_id,
                "charge": p.charge_id,
                "checkout_session": p.checkout_session_id,
                "subscription": p.subscription_id,
            }
            for p in payments
        ],
        "lifetime_value": ledger.lifetime_value(user.id),
        "paid": paid.paid,
        "paid_until": paid.until.isoformat() if paid.until else None,
        "plan": paid.plan,
    }


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(split_group)
    app.cli.add_command(user_group)
