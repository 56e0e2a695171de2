"""The split tests' commands: ``flask --app dynamic split assign``, ``split revenue`` and
``split report`` (which variant visitors get, what each bucket paid, which variant wins)."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from dynamic.core.tenancy import tenants
from dynamic.payments.plans import format_money
from dynamic.split_tests.decisions import effective
from dynamic.split_tests.report import Report, build_report, format_p, format_pp
from dynamic.split_tests.revenue import BucketRevenue, bucket_revenue, bucket_sizes
from floe.experiments import Experiment


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
    sizes = bucket_sizes(experiment)
    revenue: dict[tuple[str, str], list[BucketRevenue]] = {}
    for row in bucket_revenue(experiment):
        revenue.setdefault((row.experiment, row.variant), []).append(row)
    for bucket in sorted(set(sizes) | set(revenue)):
        users = sizes.get(bucket, 0)
        rows: list[BucketRevenue | None] = [*revenue.get(bucket, [])]
        for entry in rows or [None]:
            money = f"{entry.currency}\t{entry.payers}\t{entry.revenue}" if entry else "-\t0\t0"
            click.echo(f"{bucket[0]}\t{bucket[1]}\t{users}\t{money}")


#: Written in full: strptime alone would take 2026-1-5 too.
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Day(click.DateTime):
    """A --since or --until value: a day written YYYY-MM-DD (click's DateTime, as a date)."""

    name = "day"

    def __init__(self) -> None:
        super().__init__(formats=["%Y-%m-%d"])

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.date):
            return value
        if _DAY.match(value):
            try:
                return super().convert(value, param, ctx).date()
            except click.BadParameter:
                pass
        self.fail(f"{value!r} is not a day: write it as YYYY-MM-DD, e.g. 2026-03-14", param, ctx)


@split_group.command("report")
@click.argument("experiment", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON, for scripts.")
@click.option("--tenant", help="Only this tenant (a key of site/tenants.toml).")
@click.option("--since", type=Day(), help="From this day on, UTC (YYYY-MM-DD).")
@click.option("--until", type=Day(), help="Up to and including this day, UTC (YYYY-MM-DD).")
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


def init_app(app: Flask) -> None:
    app.cli.add_command(split_group)
