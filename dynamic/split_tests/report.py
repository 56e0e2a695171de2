"""The split-test report: per variant of an experiment, how many visitors saw it, signed up and
paid, and whether a variant beats the control and how sure that is. The admin's dashboard and
``flask --app dynamic split report`` both show :func:`build_report`.

What is counted, optionally for one tenant and between two days (inclusive, UTC):

- exposures: rows of ``exposures`` for the experiment (one per visitor); the tenant is the
  exposure's, the days filter ``seen_at``.
- sign-ups: users with a bucket (``user_assignments``) in the experiment, deleted accounts too;
  the tenant is the user's, the days filter the bucket's ``assigned_at``.
- conversion: sign-ups / exposures.
- paying users: sign-ups with a paid payment in the currency.
- revenue: those sign-ups' lifetime value per currency, all of it whatever the days, as
  dynamic/payments/ledger.py defines it (``ledger.NET`` of paid payments minus chargebacks in
  ``ledger.HELD``), in minor units.
- revenue per visitor: revenue / exposures. It is compared with Welch's t-test on per-visitor
  revenue where every exposed visitor who did not pay, or never signed up, counts as 0: n is
  the exposures, and the sum and sum of squares of each paying user's net revenue come from
  the database, so the zeros cost nothing.
- LTV per sign-up: revenue / sign-ups.

Statistics (dynamic/split_tests/stats.py), each variant against the control at 95%: conversion's
absolute and relative uplift with their intervals, the pooled two-sided z-test and the chance
to beat the control; revenue per visitor's difference with Welch's interval. There is no
correction for several variants: with three or more, one of them beats the control by chance
more often than 5% of the time. The sample-ratio check compares the exposures with the
configured weights (coverage takes the same share of every variant), flagged at p < 0.001.
Below ``MIN_EXPOSURES`` exposures or ``MIN_CONVERSIONS`` sign-ups in a variant or in the
control, the comparison is withheld: "not enough data yet", not numbers that invite a wrong
decision.

The database does the counting: three GROUP BY queries (exposures per variant and day,
sign-ups per variant and day, revenue per variant and currency). Python loops only over their
rows: days times variants, never visitors.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Date, Row, Select, Subquery, func, literal, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.functions import FunctionElement

from dynamic.accounts.models import User
from dynamic.core.db import db
from dynamic.payments.ledger import HELD, NET
from dynamic.payments.models import Dispute, Payment
from dynamic.split_tests.models import Exposure, UserAssignment
from dynamic.split_tests.stats import (
    MIN_CONVERSIONS,
    MIN_EXPOSURES,
    ConversionComparison,
    MeanComparison,
    Moments,
    SampleRatio,
    compare_conversion,
    compare_means,
    enough_data,
    proportion_interval,
    sample_ratio,
)
from floe.experiments import Experiment, Variant

CONFIDENCE = 0.95


@dataclass(frozen=True)
class DailyPoint:
    day: dt.date
    #: Cumulative, up to and including ``day``.
    exposures: int
    signups: int
    #: signups / exposures (None with no exposures yet).
    rate: float | None
    #: The Wilson interval (95%) of that cumulative rate.
    low: float | None
    high: float | None


@dataclass(frozen=True)
class VariantResult:
    key: str
    weight: float
    is_control: bool
    exposures: int
    signups: int
    conversion: float | None
    #: currency -> paying users
    payers: dict[str, int]
    #: currency -> minor units, net; every currency any variant earned in, 0 where none
    revenue: dict[str, int]
    #: currency -> minor units per exposure
    revenue_per_visitor: dict[str, float]
    #: currency -> minor units per sign-up
    ltv_per_signup: dict[str, float]
    enough_data: bool
    #: None for the control, or when this variant or the control has not enough data.
    vs_control: ConversionComparison | None
    #: Per currency; empty for the control, or when not enough data.
    revenue_vs_control: dict[str, MeanComparison]
    #: One point per day with any exposure or sign-up in the experiment (the same days for
    #: every variant, so their series line up).
    daily: list[DailyPoint]
    #: The Wilson interval (95%) of ``conversion``.
    conversion_ci: tuple[float, float] | None = None
    #: currency -> n, sum and sum of squares of per-visitor revenue (what Welch is fed); empty
    #: when there are more sign-ups than exposures.
    revenue_moments: dict[str, Moments] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    experiment: Experiment
    tenant: str | None
    since: dt.date | None
    until: dt.date | None
    #: In the experiment's order, control first.
    variants: list[VariantResult]
    #: None when there are no exposures.
    srm: SampleRatio | None
    #: Every variant has enough.
    enough_data: bool
    #: One line: who wins, or why nobody can tell yet.
    verdict: str
    #: Exposures recorded under variant keys the experiment no longer has (renamed or removed
    #: variants): left out of every figure above.
    unlisted: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Every figure, JSON-safe: dates in ISO form, tuples as lists, NaN and infinities
        as null."""
        experiment = self.experiment
        body = {
            f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "experiment"
        }
        return {
            "experiment": {
                "key": experiment.key,
                "status": experiment.status,
                "control": experiment.control.key,
                "winner": experiment.winner,
                "coverage": experiment.coverage,
                "tenants": list(experiment.tenants),
                "variants": [{"key": v.key, "weight": v.weight} for v in experiment.variants],
            },
            **body,
            "thresholds": {
                "min_exposures": MIN_EXPOSURES,
                "min_conversions": MIN_CONVERSIONS,
                "confidence": CONFIDENCE,
            },
        }


def build_report(
    experiment: Experiment,
    *,
    tenant: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Report:
    """The report of ``experiment`` (inside an app context)."""
    exposures = _exposures_by_day(experiment.key, tenant, since, until)
    signups = _signups_by_day(experiment.key, tenant, since, until)
    money = _revenue(experiment.key, tenant, since, until)
    keys = [v.key for v in experiment.variants]
    days = sorted(
        {day for counts in (exposures, signups) for key in keys for day in counts.get(key, {})}
    )
    currencies = sorted({currency for by_currency in money.values() for currency in by_currency})
    control = experiment.control
    base = _variant(control, True, exposures, signups, money, currencies, days)
    results = [base]
    for variant in experiment.variants[1:]:
        result = _variant(variant, False, exposures, signups, money, currencies, days)
        results.append(
            _against(result, base) if result.enough_data and base.enough_data else result
        )
    observed = [r.exposures for r in results]
    srm = sample_ratio(observed, [v.weight for v in experiment.variants]) if sum(observed) else None
    unlisted = {
        key: sum(by_day.values()) for key, by_day in sorted(exposures.items()) if key not in keys
    }
    return Report(
        experiment=experiment,
        tenant=tenant,
        since=since,
        until=until,
        variants=results,
        srm=srm,
        enough_data=all(r.enough_data for r in results),
        verdict=verdict(results, srm),
        unlisted=unlisted,
    )


# --- the queries --------------------------------------------------------------------------------


class utc_day(FunctionElement):
    """The UTC day of a stored time, as a date, by one expression on both databases."""

    type = Date()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day)
def _utc_day(element: utc_day, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: Any, **kw: Any) -> str:
    # A literal 'UTC', not a parameter: GROUP BY must repeat the selected expression exactly.
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: Any, **kw: Any) -> str:
    # SQLite keeps times as UTC text, '2026-11-21 09:30:00.000000': the day is its first ten
    # characters (cheaper than date(), which parses the whole time).
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def _between(
    column: ColumnElement[dt.datetime] | Mapped[dt.datetime],
    since: dt.date | None,
    until: dt.date | None,
) -> list[ColumnElement[bool]]:
    """``column`` from the start of ``since`` to the end of ``until`` (UTC)."""
    conditions = []
    if since is not None:
        conditions.append(column >= _midnight(since))
    if until is not None:
        conditions.append(column < _midnight(until + dt.timedelta(days=1)))
    return conditions


def _exposures_by_day(
    experiment: str, tenant: str | None, since: dt.date | None, until: dt.date | None
) -> dict[str, dict[dt.date, int]]:
    """``{variant: {day: exposures}}``."""
    day = utc_day(Exposure.seen_at)
    query = (
        select(Exposure.variant, day, func.count())
        .where(Exposure.experiment == experiment, *_between(Exposure.seen_at, since, until))
        .group_by(Exposure.variant, day)
    )
    if tenant is not None:
        query = query.where(Exposure.tenant == tenant)
    return _by_day(db.session.execute(query))


def _assignments(
    experiment: str, tenant: str | None, since: dt.date | None, until: dt.date | None
) -> Subquery:
    """The experiment's sign-ups, as a FROM clause of ``user_assignments`` (joined to their
    users for the tenant) with the filters applied."""
    query = select(UserAssignment.user_id, UserAssignment.variant, UserAssignment.assigned_at)
    query = query.where(
        UserAssignment.experiment == experiment,
        *_between(UserAssignment.assigned_at, since, until),
    )
    if tenant is not None:
        query = query.join(User, User.id == UserAssignment.user_id).where(User.tenant == tenant)
    return query.subquery("signups")


def _signups_by_day(
    experiment: str, tenant: str | None, since: dt.date | None, until: dt.date | None
) -> dict[str, dict[dt.date, int]]:
    """``{variant: {day: sign-ups}}``."""
    signups = _assignments(experiment, tenant, since, until)
    day = utc_day(signups.c.assigned_at)
    query = select(signups.c.variant, day, func.count()).group_by(signups.c.variant, day)
    return _by_day(db.session.execute(query))


def _by_day(rows: Iterable[Row[str, dt.date, int]]) -> dict[str, dict[dt.date, int]]:
    counts: dict[str, dict[dt.date, int]] = defaultdict(dict)
    for variant, day, count in rows:
        counts[variant][day] = int(count)
    return counts


@dataclass(frozen=True)
class _Money:
    payers: int
    revenue: int
    squares: int


def net_revenue_per_user(users: Select[Any]) -> Subquery:
    """A subquery of (user_id, currency, net, paid): each user's lifetime value per currency
    (as dynamic/payments/ledger.py counts it), and 1 where they made a paid payment in it, for
    the user ids that the select ``users`` gives."""
    paid = Payment.status == "paid"
    payments = select(
        Payment.user_id.label("user_id"),
        Payment.currency.label("currency"),
        NET.label("amount"),
        literal(1).label("paid"),
    ).where(paid, Payment.user_id.in_(users))
    held = (
        select(Payment.user_id, Dispute.currency, -Dispute.amount, literal(0))
        .join(Dispute, Dispute.payment_id == Payment.id)
        .where(paid, Dispute.status.in_(HELD), Payment.user_id.in_(users))
    )
    entries = union_all(payments, held).subquery("entries")
    return (
        select(
            entries.c.user_id,
            entries.c.currency,
            func.sum(entries.c.amount).label("net"),
            func.max(entries.c.paid).label("paid"),
        )
        .group_by(entries.c.user_id, entries.c.currency)
        .subquery("net_revenue")
    )


def _revenue(
    experiment: str, tenant: str | None, since: dt.date | None, until: dt.date | None
) -> dict[str, dict[str, _Money]]:
    """``{variant: {currency: payers, revenue and sum of squared per-user revenue}}``."""
    signups = _assignments(experiment, tenant, since, until)
    per_user = net_revenue_per_user(select(signups.c.user_id))
    query = (
        select(
            signups.c.variant,
            per_user.c.currency,
            func.sum(per_user.c.paid),
            func.sum(per_user.c.net),
            func.sum(per_user.c.net * per_user.c.net),
        )
        .join(per_user, per_user.c.user_id == signups.c.user_id)
        .group_by(signups.c.variant, per_user.c.currency)
    )
    money: dict[str, dict[str, _Money]] = defaultdict(dict)
    for variant, currency, payers, revenue, squares in db.session.execute(query):
        money[variant][currency] = _Money(int(payers), int(revenue), int(squares))
    return money


# --- the figures --------------------------------------------------------------------------------


def _variant(
    variant: Variant,
    is_control: bool,
    exposures: Mapping[str, Mapping[dt.date, int]],
    signups: Mapping[str, Mapping[dt.date, int]],
    money: Mapping[str, Mapping[str, _Money]],
    currencies: list[str],
    days: list[dt.date],
) -> VariantResult:
    """A variant's own figures (no comparison yet)."""
    seen = exposures.get(variant.key, {})
    joined = signups.get(variant.key, {})
    n, converted = sum(seen.values()), sum(joined.values())
    earned = money.get(variant.key, {})
    totals = {c: earned.get(c, _Money(0, 0, 0)) for c in currencies}
    # Sign-ups can outnumber exposures: a bucket is copied at sign-up from the assignment
    # cookie too, when the beacon never confirmed the exposure, and a user's tenant need not
    # be the one of the page they saw. Then no rate is right, and nothing is compared.
    consistent = converted <= n
    return VariantResult(
        key=variant.key,
        weight=variant.weight,
        is_control=is_control,
        exposures=n,
        signups=converted,
        conversion=converted / n if n else None,
        payers={c: m.payers for c, m in totals.items()},
        revenue={c: m.revenue for c, m in totals.items()},
        revenue_per_visitor={c: m.revenue / n for c, m in totals.items()} if n else {},
        ltv_per_signup={c: m.revenue / converted for c, m in totals.items()} if converted else {},
        enough_data=consistent and enough_data(n, converted),
        vs_control=None,
        revenue_vs_control={},
        daily=_daily(seen, joined, days),
        conversion_ci=_interval(converted, n),
        revenue_moments=(
            {c: Moments(n, m.revenue, m.squares) for c, m in totals.items()} if consistent else {}
        ),
    )


def _against(result: VariantResult, control: VariantResult) -> VariantResult:
    """``result`` with its comparisons against ``control``."""
    conversion = compare_conversion(
        control.signups, control.exposures, result.signups, result.exposures, CONFIDENCE
    )
    revenue = {}
    for currency, moments in result.revenue_moments.items():
        base = control.revenue_moments[currency]
        if base.variance > 0 or moments.variance > 0:  # Welch needs some spread
            revenue[currency] = compare_means(base, moments, CONFIDENCE)
    return replace(result, vs_control=conversion, revenue_vs_control=revenue)


def _interval(successes: int, trials: int) -> tuple[float, float] | None:
    """The Wilson interval, when there is a proportion to bound (see ``_variant`` for how
    sign-ups can outnumber exposures)."""
    if trials == 0 or successes > trials:
        return None
    return proportion_interval(successes, trials, CONFIDENCE)


def _daily(
    exposures: Mapping[dt.date, int], signups: Mapping[dt.date, int], days: list[dt.date]
) -> list[DailyPoint]:
    points, seen, joined = [], 0, 0
    for day in days:
        seen += exposures.get(day, 0)
        joined += signups.get(day, 0)
        interval = _interval(joined, seen)
        points.append(
            DailyPoint(
                day=day,
                exposures=seen,
                signups=joined,
                rate=joined / seen if seen else None,
                low=interval[0] if interval else None,
                high=interval[1] if interval else None,
            )
        )
    return points


# --- the verdict --------------------------------------------------------------------------------


def format_p(p: float) -> str:
    """A p-value for people: three decimals, or two significant digits below 0.001."""
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def format_pp(share: float) -> str:
    """A difference of two rates in percentage points: +2.1 pp."""
    return f"{share * 100:+.1f} pp"


def shortfall(result: VariantResult) -> str:
    """What ``result`` lacks to be compared: "12 of 30 exposures and 2 of 5 sign-ups"."""
    if result.signups > result.exposures:
        return (
            f"more sign-ups ({result.signups}) than exposures ({result.exposures}): "
            "sign-ups whose exposure was not recorded"
        )
    missing = []
    if result.exposures < MIN_EXPOSURES:
        missing.append(f"{result.exposures} of {MIN_EXPOSURES} exposures")
    if result.signups < MIN_CONVERSIONS:
        missing.append(f"{result.signups} of {MIN_CONVERSIONS} sign-ups")
    return " and ".join(missing)


def verdict(results: list[VariantResult], srm: SampleRatio | None) -> str:
    """One line: a sample-ratio mismatch first (nothing else can be trusted then), then what
    data is missing, then the best variant against the control."""
    if srm is not None and srm.mismatch:
        counts = " / ".join(f"{r.key} {r.exposures:,}" for r in results)
        weights = " / ".join(f"{r.weight:.0%}" for r in results)
        return (
            f"Sample ratio mismatch (p = {format_p(srm.p_value)}): do not trust this result. "
            f"Exposures {counts} against weights {weights}: find out why before reading on "
            "(bots, a beacon failing on one variant, a redirect, a changed seed)."
        )
    lacking = [f"{r.key} has {shortfall(r)}" for r in results if not r.enough_data]
    if lacking:
        return f"Not enough data yet: {'; '.join(lacking)}."
    compared = [(r.key, r.vs_control) for r in results if r.vs_control is not None]
    if not compared:
        return "Nothing to compare: the experiment has only its control."
    alpha = 1 - CONFIDENCE
    control = results[0].key
    winners = [(k, c) for k, c in compared if c.p_value < alpha and c.z > 0]
    losers = [(k, c) for k, c in compared if c.p_value < alpha and c.z < 0]
    if winners:
        key, best = max(winners, key=lambda kc: kc[1].absolute_uplift)
        return f"{key} beats {control}: {_figures(best)}"
    if losers and len(losers) == len(compared):
        key, worst = min(losers, key=lambda kc: kc[1].absolute_uplift)
        return f"{key} does worse than {control}: {_figures(worst)}"
    key, best = max(compared, key=lambda kc: kc[1].chance_to_beat)
    return f"No significant difference yet: {key} {_figures(best)}"


def _figures(c: ConversionComparison) -> str:
    low, high = c.absolute_ci
    return (
        f"{format_pp(c.absolute_uplift)} (95% CI {low * 100:+.1f} to {format_pp(high)}), "
        f"p = {format_p(c.p_value)}, {c.chance_to_beat:.1%} chance to beat"
    )


# --- JSON ---------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """``value`` as JSON types: dataclasses as objects (their properties too for Moments)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Moments):
        return {
            "n": value.n,
            "total": value.total,
            "total_squares": value.total_squares,
            "mean": value.mean if value.n else None,
            "variance": value.variance if value.n > 1 else None,
        }
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
