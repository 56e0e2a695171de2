"""Commands for operators: ``flask --app dynamic create-admin EMAIL`` (create an admin, or
promote an existing user), ``split assign``, ``split revenue`` and ``split report`` (split
tests), ``user show EMAIL`` (a user's buckets, payments and lifetime value, for support)."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from typing import Any

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import with_appcontext

from dynamic.payments import ledger
from dynamic.core.db import db
from dynamic.split_tests.decisions import effective
from dynamic.accounts.forms import PASSWORD_MIN
from dynamic.accounts.models import User
from dynamic.split_tests.models import UserAssignment
from dynamic.core.db import as_utc
from dynamic.payments.plans import format_money
from dynamic.split_tests.report import Report, build_report, format_p, format_pp
from dynamic.core.tenancy import tenants
from floe.experiments import Experiment


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
    """Split tests: which variant visitors get, and which one wins."""


def known_experiment(key: str) -> Experiment:
    """The experiment ``key`` of site/experiments.toml (with the admin's decision applied: its
    status as the service serves it), or a usage error naming the others."""
    known = effective()
    if key not in known:
        raise click.BadParameter(
            f"no experiment {key!r} in site/experiments.toml"
            + (f"; it has: {', '.join(known)}" if known else ""),
            param_hint="EXPERIMENT",
        )
    return known[key]


@split_group.command("assign")
@click.argument("experiment")
@click.argument("visitor_ids", nargs=-1)
@with_appcontext
def split_assign(experiment: str, visitor_ids: tuple[str, ...]) -> None:
    """Print VISITOR_ID<TAB>VARIANT for each id (from stdin, one per line, when none is given).

    The variant is what the visitor gets while the experiment runs; "-" means outside the
    experiment's coverage (shown the control, not counted). For support and audits.
    """
    test = known_experiment(experiment)
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


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """A --since or --until value: a day written YYYY-MM-DD."""
    if value is None:
        return None
    try:
        if not _DAY.match(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a day: write it as YYYY-MM-DD, e.g. 2026-03-14"
        ) from None


@split_group.command("report")
@click.argument("experiment", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON, for scripts.")
@click.option("--tenant", help="Only this tenant (a key of site/tenants.toml).")
@click.option("--since", callback=_day, help="From this day on, UTC (YYYY-MM-DD).")
@click.option("--until", callback=_day, help="Up to and including this day, UTC (YYYY-MM-DD).")
@with_appcontext
def split_report(
    experiment: str | None,
    as_json: bool,
    tenant: str | None,
    since: dt.date | None,
    until: dt.date | None,
) -> None:
    """Which variant of EXPERIMENT wins, and how sure that is: exposures, sign-ups,
    conversion, payers, revenue per visitor and lifetime value per variant, each against the
    control, and a check of the split itself. Without EXPERIMENT: a short report of each
    experiment in site/experiments.toml."""
    registry = tenants(current_app)
    if tenant is not None and tenant not in registry:
        raise click.BadParameter(
            f"no tenant {tenant!r}; site/tenants.toml has: {', '.join(registry)}",
            param_hint="--tenant",
        )
    if since and until and until < since:
        raise click.BadParameter(f"{until} is before --since {since}", param_hint="--until")
    chosen = [known_experiment(experiment)] if experiment else list(effective().values())
    reports = [build_report(e, tenant=tenant, since=since, until=until) for e in chosen]
    if as_json:
        data = reports[0].to_json() if experiment else [r.to_json() for r in reports]
        click.echo(json.dumps(data, indent=2))
        return
    if not reports:
        click.echo("No experiments in site/experiments.toml.")
    show_reports(reports, full=experiment is not None)


def show_reports(reports: list[Report], full: bool) -> None:
    """Print ``reports`` as tables (rich): conversion, then (``full``) revenue per currency,
    then the verdict. A sample-ratio mismatch is printed in red on a terminal."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)  # the text lines: whole, for grep
    if not console.is_terminal:
        console.width = 160  # a pipe or a file: do not squeeze the tables into 80 columns
    for report in reports:
        console.print(_report_title(report), style="bold", markup=False)
        if report.srm is not None and report.srm.mismatch:
            console.print(report.verdict, style="bold red", markup=False)
        console.print(_conversion_table(report))
        if full:
            for currency in report.variants[0].revenue:
                console.print(_revenue_table(report, currency))
        if report.unlisted:
            unlisted = ", ".join(f"{key} ({n:,})" for key, n in report.unlisted.items())
            console.print(
                f"Left out: exposures of variants the experiment no longer has: {unlisted}",
                style="yellow",
                markup=False,
            )
        if report.srm is None or not report.srm.mismatch:
            console.print(report.verdict, style="bold", markup=False)
        console.print()


def _report_title(report: Report) -> str:
    days = (
        f"{report.since or 'the start'} to {report.until or 'today'}"
        if report.since or report.until
        else "all days"
    )
    srm = report.srm
    split = f", split check p = {format_p(srm.p_value)}" if srm else ""
    tenant = f"tenant {report.tenant}" if report.tenant else "all tenants"
    return f"{report.experiment.key} ({report.experiment.status}): {tenant}, {days}{split}"


_NOT_ENOUGH = "not enough data"


def _table(title: str, *columns: str) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=True)
    return table


def _conversion_table(report: Report) -> Any:
    table = _table(
        "Sign-ups per exposure",
        "variant",
        "weight",
        "exposures",
        "sign-ups",
        "conversion (95% CI)",
        "uplift (95% CI)",
        "relative (95% CI)",
        "p",
        "chance to beat",
    )
    for v in report.variants:
        rate = "-" if v.conversion is None else f"{v.conversion:.1%}"
        if v.conversion_ci:
            rate += f" ({v.conversion_ci[0]:.1%} to {v.conversion_ci[1]:.1%})"
        c = v.vs_control
        if v.is_control:
            compared = ["control", "", "", ""]
        elif c is None:
            compared = [_NOT_ENOUGH, "", "", ""]
        else:
            low, high = c.absolute_ci
            relative = "-"
            if c.relative_uplift is not None:
                relative = f"{c.relative_uplift:+.0%}"
                if c.relative_ci:
                    relative += f" ({c.relative_ci[0]:+.0%} to {c.relative_ci[1]:+.0%})"
            compared = [
                f"{format_pp(c.absolute_uplift)} ({low * 100:+.1f} to {high * 100:+.1f})",
                relative,
                format_p(c.p_value),
                f"{c.chance_to_beat:.1%}",
            ]
        row = [v.key, f"{v.weight:.0%}", f"{v.exposures:,}", f"{v.signups:,}", rate, *compared]
        table.add_row(*row)
    return table


def _revenue_table(report: Report, currency: str) -> Any:
    table = _table(
        f"Revenue in {currency.upper()}, net of refunds and chargebacks",
        "variant",
        "payers",
        "revenue",
        "per visitor",
        "vs control (95% CI)",
        "p",
        "per sign-up",
    )
    for v in report.variants:
        m = v.revenue_vs_control.get(currency)
        if v.is_control:
            compared = ["control", ""]
        elif m is not None:
            low, high = m.ci
            interval = f"{_cents(low, currency)} to {_cents(high, currency)}"
            compared = [f"{_cents(m.difference, currency)} ({interval})", format_p(m.p_value)]
        else:
            compared = [_NOT_ENOUGH if not v.enough_data else "no difference to test", ""]
        per_visitor = v.revenue_per_visitor.get(currency)
        per_signup = v.ltv_per_signup.get(currency)
        table.add_row(
            v.key,
            f"{v.payers[currency]:,}",
            format_money(v.revenue[currency], currency),
            "-" if per_visitor is None else format_money(round(per_visitor), currency),
            *compared,
            "-" if per_signup is None else format_money(round(per_signup), currency),
        )
    return table


def _cents(amount: float, currency: str) -> str:
    """A signed amount of minor units: +$0.12, -$1.05."""
    text = format_money(round(amount), currency)
    return text if text.startswith("-") else "+" + text


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
