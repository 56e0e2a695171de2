"""The admin's commands: ``flask --app dynamic create-admin EMAIL`` (create an admin, or
promote an existing user) and ``user show EMAIL`` (a user's buckets, payments and lifetime
value, for support)."""

from __future__ import annotations

import json
from typing import Any

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import with_appcontext

from dynamic.accounts.forms import PASSWORD_MIN
from dynamic.accounts.models import User
from dynamic.core.db import as_utc, db
from dynamic.core.tenancy import tenants
from dynamic.payments import ledger
from dynamic.payments.plans import format_money
from dynamic.split_tests.models import UserAssignment


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
    app.cli.add_command(user_group)
