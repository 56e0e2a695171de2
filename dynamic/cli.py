"""``flask --app dynamic create-admin EMAIL``: create an admin, or promote an existing user."""

from __future__ import annotations

import sys

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import with_appcontext

from dynamic.db import db
from dynamic.forms import PASSWORD_MIN
from dynamic.models import User
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


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(split_group)
