"""The split-test report on SQLite and PostgreSQL: every figure of each variant from records with
known counts (exposures, sign-ups, payments, refunds, chargebacks, two currencies, two tenants,
days inside and outside the window), its statistics against split_stats and statsmodels, the
daily series, the sample-ratio check and "not enough data yet"."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from dynamic.core.db import db
from dynamic.split_tests import stats as split_stats
from dynamic.split_tests.report import Report, VariantResult, build_report
from tests.conftest import dispose_service
from tests.helpers.split_report import (
    KEY,
    WINDOW,
    experiment,
    expose,
    pay,
    report,
    report_app,
    seed,
    sign_ups,
    split_of,
)


@pytest.fixture
def app(database_url: str, tmp_path: Path):
    service = report_app(database_url, tmp_path)
    yield service
    dispose_service(service)


def welch(control: list[int], variant: list[int], n: int) -> tuple[float, float, float, float]:
    """statsmodels on the explicit per-visitor arrays (zeros for the others): t, p, CI."""
    padded = [DescrStatsW([*values, *[0] * (n - len(values))]) for values in (variant, control)]
    compared = CompareMeans(*padded)
    t, p, _ = compared.ttest_ind(usevar="unequal")
    low, high = compared.tconfint_diff(alpha=0.05, usevar="unequal")
    return t, p, low, high


def test_every_figure_of_one_tenant_from_a_day_on(app) -> None:
    with app.app_context():
        paid = seed()
    got = report(app, tenant="freelancers", since=WINDOW)
    control, annual = got.variants
    assert [v.key for v in got.variants] == ["control", "annual"]
    assert (control.is_control, annual.is_control) == (True, False)
    assert (control.weight, annual.weight) == (0.5, 0.5)
    assert (control.exposures, control.signups) == (100, 10)
    assert (annual.exposures, annual.signups) == (100, 15)
    assert (control.conversion, annual.conversion) == (0.10, 0.15)
    assert control.conversion_ci == split_stats.proportion_interval(10, 100)
    assert annual.conversion_ci == split_stats.proportion_interval(15, 100)
    assert control.payers == {"eur": 1, "usd": 5}
    assert control.revenue == {"eur": 1900, "usd": 4800}
    assert annual.payers == {"eur": 1, "usd": 5}
    assert annual.revenue == {"eur": 2900, "usd": 9800}
    assert control.revenue_per_visitor == {"eur": 19.0, "usd": 48.0}
    assert annual.revenue_per_visitor == {"eur": 29.0, "usd": 98.0}
    assert control.ltv_per_signup == {"eur": 190.0, "usd": 480.0}
    assert annual.ltv_per_signup == pytest.approx({"eur": 2900 / 15, "usd": 9800 / 15})

    assert control.enough_data and annual.enough_data and got.enough_data
    assert control.vs_control is None and control.revenue_vs_control == {}
    assert annual.vs_control == split_stats.compare_conversion(10, 100, 15, 100)
    for currency in ("usd", "eur"):
        moments = annual.revenue_vs_control[currency]
        t, p, low, high = welch(paid["control"][currency], paid["annual"][currency], 100)
        assert moments.t == pytest.approx(t, abs=1e-6)
        assert moments.p_value == pytest.approx(p, abs=1e-6)
        assert moments.ci == pytest.approx((low, high), abs=1e-6)
        assert moments.difference == pytest.approx(
            annual.revenue_per_visitor[currency] - control.revenue_per_visitor[currency]
        )
    assert got.srm == split_stats.sample_ratio([100, 100], [0.5, 0.5])
    assert not got.srm.mismatch
    c = annual.vs_control
    assert got.verdict == (
        f"No significant difference yet: annual +5.0 pp (95% CI {c.absolute_ci[0] * 100:+.1f} to "
        f"{c.absolute_ci[1] * 100:+.1f} pp), p = {c.p_value:.3f}, "
        f"{c.chance_to_beat:.1%} chance to beat"
    )
    assert (got.tenant, got.since, got.until, got.unlisted) == ("freelancers", WINDOW, None, {})


def test_without_filters_every_tenant_and_day_counts(app) -> None:
    with app.app_context():
        seed()
    control, annual = report(app).variants
    assert (control.exposures, control.signups) == (130, 13)
    assert (annual.exposures, annual.signups) == (115, 18)
    assert control.revenue == {"eur": 1900, "usd": 4800 + 4500 + 1200}
    assert control.payers == {"eur": 1, "usd": 7}
    assert annual.revenue == {"eur": 2900, "usd": 9800}
    assert control.revenue_per_visitor["usd"] == pytest.approx(10500 / 130)
    assert annual.ltv_per_signup["usd"] == pytest.approx(9800 / 18)


def test_a_tenant_and_a_closed_window(app) -> None:
    with app.app_context():
        seed()
    window = {"since": WINDOW, "until": dt.date(2026, 11, 11)}
    control, annual = report(app, tenant="freelancers", **window).variants
    assert (control.exposures, control.signups) == (100, 10)
    assert (annual.exposures, annual.signups) == (50, 7)
    # Revenue is the lifetime value of the window's sign-ups, whenever they paid.
    assert annual.revenue == {"eur": 2900, "usd": 1200 + 1200 + 5000 + 0 + 2400}


def test_too_few_exposures_or_sign_ups_withhold_the_comparison(app) -> None:
    with app.app_context():
        seed()
    got = report(app, tenant="agencies")
    control, annual = got.variants
    # The counts are there ...
    assert (control.exposures, control.signups, annual.exposures, annual.signups) == (10, 1, 5, 2)
    assert control.revenue == {"usd": 4500} and annual.revenue == {"usd": 0}
    assert control.payers == {"usd": 1} and annual.payers == {"usd": 0}
    # ... the comparisons are not.
    assert not (control.enough_data or annual.enough_data or got.enough_data)
    assert annual.vs_control is None and annual.revenue_vs_control == {}
    assert got.verdict == (
        "Not enough data yet: control has 10 of 30 exposures and 1 of 5 sign-ups; "
        "annual has 5 of 30 exposures and 2 of 5 sign-ups."
    )


def test_the_control_lacking_data_withholds_every_comparison(app) -> None:
    with app.app_context():
        expose("control", 300, "2026-11-10")
        expose("annual", 300, "2026-11-10")
        sign_ups("control", 4, "2026-11-10")
        sign_ups("annual", 40, "2026-11-10")
        db.session.commit()
    got = report(app)
    assert got.variants[1].enough_data and not got.variants[0].enough_data
    assert got.variants[1].vs_control is None
    assert got.verdict == "Not enough data yet: control has 4 of 5 sign-ups."


def test_more_sign_ups_than_exposures_is_not_compared(app) -> None:
    """Sign-ups whose exposure was never confirmed (a beacon that failed) can outnumber the
    exposures: no rate, interval or test of that makes sense."""
    with app.app_context():
        expose("control", 100, "2026-11-10")
        expose("annual", 100, "2026-11-10")
        sign_ups("control", 10, "2026-11-10")
        pay(sign_ups("annual", 120, "2026-11-10")[0], 1200)
        db.session.commit()
    got = report(app)
    annual = got.variants[1]
    assert annual.conversion == 1.2 and annual.conversion_ci is None
    assert annual.vs_control is None and annual.revenue_vs_control == {}
    assert annual.revenue == {"usd": 1200}
    assert got.verdict == (
        "Not enough data yet: annual has more sign-ups (120) than exposures (100): "
        "sign-ups whose exposure was not recorded."
    )


@pytest.mark.parametrize(
    ("control_signups", "annual_signups", "verdict"),
    [(50, 100, "annual beats control: +5.0 pp"), (100, 50, "annual does worse than control")],
)
def test_a_significant_difference_is_named(app, control_signups, annual_signups, verdict) -> None:
    with app.app_context():
        expose("control", 1000, "2026-11-10")
        expose("annual", 1000, "2026-11-10")
        sign_ups("control", control_signups, "2026-11-10")
        sign_ups("annual", annual_signups, "2026-11-10")
        db.session.commit()
    got = report(app)
    c = got.variants[1].vs_control
    assert c == split_stats.compare_conversion(control_signups, 1000, annual_signups, 1000)
    assert c.p_value < 0.001
    assert got.verdict.startswith(verdict)
    assert f"p = {c.p_value:.1e}, {c.chance_to_beat:.1%} chance to beat" in got.verdict


@pytest.mark.parametrize(("annual", "mismatch"), [(4600, True), (4950, False)])
def test_sample_ratio_mismatch(app, annual: int, mismatch: bool) -> None:
    with app.app_context():
        split_of(annual)
    got = report(app)
    assert got.srm == split_stats.sample_ratio([5000, annual], [0.5, 0.5])
    assert got.srm.mismatch is mismatch
    assert got.verdict.startswith("Sample ratio mismatch (p = ") is mismatch
    if mismatch:
        assert f"Exposures control 5,000 / annual {annual:,} against weights 50% / 50%" in (
            got.verdict
        )


def test_no_exposures_no_sample_ratio(app) -> None:
    got = report(app, "home-hero")
    assert got.srm is None and not got.enough_data
    assert [(v.key, v.exposures, v.signups, v.conversion) for v in got.variants] == [
        ("control", 0, 0, None),
        ("short", 0, 0, None),
        ("long", 0, 0, None),
    ]
    assert all(v.daily == [] and v.revenue == {} for v in got.variants)
    assert got.verdict.startswith("Not enough data yet: control has 0 of 30 exposures and 0 of 5")


def test_daily_series_is_cumulative_per_utc_day(app, database_url: str) -> None:
    with app.app_context():
        seed()
    with app.app_context():
        if database_url.startswith("postgresql"):
            # Days are UTC days whatever the connection's time zone (+13:00 here in November).
            db.session.execute(text("SET TIME ZONE 'Pacific/Auckland'"))
        got = build_report(experiment(app), tenant="freelancers", since=WINDOW)
    days = [dt.date(2026, 11, 10), dt.date(2026, 11, 11), dt.date(2026, 11, 12)]
    expected = {
        "control": [(40, 4), (100, 10), (100, 10)],
        "annual": [(50, 7), (50, 7), (100, 15)],
    }
    for variant in got.variants:
        assert [p.day for p in variant.daily] == days
        assert [(p.exposures, p.signups) for p in variant.daily] == expected[variant.key]
        for point in variant.daily:
            low, high = split_stats.proportion_interval(point.signups, point.exposures)
            assert (point.rate, point.low, point.high) == (
                point.signups / point.exposures,
                low,
                high,
            )


def test_days_are_inclusive_utc_days(app, database_url: str) -> None:
    with app.app_context():
        expose("control", 1, "2026-10-31", time="23:59:59.999999")
        expose("control", 2, "2026-11-01", time="00:00")
        expose("control", 4, "2026-11-11", time="23:59:59")
        expose("control", 8, "2026-11-12", time="00:00")
        db.session.commit()
        if database_url.startswith("postgresql"):
            db.session.execute(text("SET TIME ZONE 'America/Los_Angeles'"))
        got = build_report(experiment(app), since=WINDOW, until=dt.date(2026, 11, 11))
    control = got.variants[0]
    assert control.exposures == 6
    assert [(p.day, p.exposures) for p in control.daily] == [
        (dt.date(2026, 11, 1), 2),
        (dt.date(2026, 11, 11), 6),
    ]


def test_exposures_of_variants_no_longer_configured_are_left_out_and_said(app) -> None:
    with app.app_context():
        expose("control", 40, "2026-11-10")
        expose("monthly", 12, "2026-11-09")
        db.session.commit()
    got = report(app)
    assert [v.exposures for v in got.variants] == [40, 0]
    assert got.unlisted == {"monthly": 12}
    assert [p.day for p in got.variants[0].daily] == [dt.date(2026, 11, 10)]


def test_json_has_every_figure(app) -> None:
    with app.app_context():
        seed()
    got = report(app, tenant="freelancers", since=WINDOW)
    data = json.loads(json.dumps(got.to_json(), allow_nan=False))
    assert data["experiment"] == {
        "key": KEY,
        "status": "running",
        "control": "control",
        "winner": None,
        "coverage": 1.0,
        "tenants": ["freelancers", "agencies"],
        "variants": [{"key": "control", "weight": 0.5}, {"key": "annual", "weight": 0.5}],
    }
    assert (data["tenant"], data["since"], data["until"]) == ("freelancers", "2026-11-01", None)
    assert data["enough_data"] is True and data["verdict"] == got.verdict
    assert data["thresholds"] == {"min_exposures": 30, "min_conversions": 5, "confidence": 0.95}
    assert data["srm"] == {
        "observed": [100, 100],
        "expected": [100.0, 100.0],
        "chi2": 0.0,
        "p_value": 1.0,
        "mismatch": False,
    }
    control, annual = data["variants"]
    assert control["vs_control"] is None and control["revenue_vs_control"] == {}
    c = got.variants[1].vs_control
    assert annual["vs_control"] == {
        "control_rate": 0.1,
        "variant_rate": 0.15,
        "absolute_uplift": c.absolute_uplift,
        "absolute_ci": list(c.absolute_ci),
        "relative_uplift": c.relative_uplift,
        "relative_ci": list(c.relative_ci),
        "z": c.z,
        "p_value": c.p_value,
        "chance_to_beat": c.chance_to_beat,
    }
    m = got.variants[1].revenue_vs_control["usd"]
    assert annual["revenue_vs_control"]["usd"] == {
        "control_mean": 48.0,
        "variant_mean": 98.0,
        "difference": 50.0,
        "ci": list(m.ci),
        "t": m.t,
        "df": m.df,
        "p_value": m.p_value,
    }
    assert annual["revenue_moments"]["usd"] == {
        "n": 100,
        "total": 9800.0,
        "total_squares": 1200.0**2 * 2 + 5000.0**2 + 2400.0**2,
        "mean": 98.0,
        "variance": got.variants[1].revenue_moments["usd"].variance,
    }
    expected = {
        "key": "annual",
        "weight": 0.5,
        "is_control": False,
        "exposures": 100,
        "signups": 15,
        "conversion": 0.15,
        "conversion_ci": list(split_stats.proportion_interval(15, 100)),
        "payers": {"eur": 1, "usd": 5},
        "revenue": {"eur": 2900, "usd": 9800},
        "revenue_per_visitor": {"eur": 29.0, "usd": 98.0},
        "ltv_per_signup": {"eur": 2900 / 15, "usd": 9800 / 15},
        "enough_data": True,
    }
    assert {k: annual[k] for k in expected} == expected
    assert annual["daily"][0] == {
        "day": "2026-11-10",
        "exposures": 50,
        "signups": 7,
        "rate": 0.14,
        "low": split_stats.proportion_interval(7, 50)[0],
        "high": split_stats.proportion_interval(7, 50)[1],
    }
    assert set(annual) == {f.name for f in dataclasses.fields(VariantResult)}
    assert set(data) == {f.name for f in dataclasses.fields(Report)} | {"thresholds"}
