"""``flask --app dynamic split report``, on SQLite and PostgreSQL: the tables and the verdict,
JSON with every figure, every experiment at once, a loud sample-ratio mismatch, "not enough
data" in place of the comparisons, and clear errors for bad input. The records are those of
tests/helpers/split_report.py, whose figures tests/test_split_report.py checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynamic.accounts.models import User
from dynamic.core.db import db
from tests.conftest import dispose_service
from tests.helpers.split_report import (
    KEY,
    WINDOW,
    experiment,
    expose,
    report,
    report_app,
    seed,
    split_of,
)

RED = "\x1b[1;31m"


@pytest.fixture
def app(database_url: str, tmp_path: Path):
    service = report_app(database_url, tmp_path)
    yield service
    dispose_service(service)


def run(app, *args: str, **kw):
    return app.test_cli_runner().invoke(args=["split", "report", *args], **kw)


def row(output: str, title: str, variant: str) -> list[str]:
    """The cells of ``variant``'s row in the table titled ``title`` (split on 2+ spaces)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    line = next(line for line in lines[start:] if line.strip().startswith(variant + " "))
    return [cell for cell in (c.strip() for c in line.split("  ")) if cell]


def test_the_tables_and_the_verdict(app) -> None:
    with app.app_context():
        seed()
    result = run(app, KEY, "--tenant", "freelancers", "--since", "2026-11-01")
    assert result.exit_code == 0, result.output
    out = result.output
    assert RED not in out  # not a terminal: no colours
    got = report(app, tenant="freelancers", since=WINDOW)
    assert out.startswith(
        f"{KEY} (running): tenant freelancers, 2026-11-01 to today, split check p = 1.000\n"
    )
    assert row(out, "Sign-ups per exposure", "control") == [
        "control",
        "50%",
        "100",
        "10",
        "10.0% (5.5% to 17.4%)",
        "control",
    ]
    c = got.variants[1].vs_control
    low, high = c.absolute_ci
    relative_low, relative_high = c.relative_ci
    assert row(out, "Sign-ups per exposure", "annual") == [
        "annual",
        "50%",
        "100",
        "15",
        "15.0% (9.3% to 23.3%)",
        f"+5.0 pp ({low * 100:+.1f} to {high * 100:+.1f})",
        f"+50% ({relative_low:+.0%} to {relative_high:+.0%})",
        f"{c.p_value:.3f}",
        f"{c.chance_to_beat:.1%}",
    ]
    usd = "Revenue in USD, net of refunds and chargebacks"
    assert row(out, usd, "control") == ["control", "5", "$48.00", "$0.48", "control", "$4.80"]
    m = got.variants[1].revenue_vs_control["usd"]
    assert row(out, usd, "annual") == [
        "annual",
        "5",
        "$98.00",
        "$0.98",
        f"+$0.50 (-${abs(m.ci[0]) / 100:.2f} to +${m.ci[1] / 100:.2f})",
        f"{m.p_value:.3f}",
        "$6.53",
    ]
    eur = "Revenue in EUR, net of refunds and chargebacks"
    assert row(out, eur, "control") == ["control", "1", "€19.00", "€0.19", "control", "€1.90"]
    assert out.rstrip().splitlines()[-1] == got.verdict
    assert got.verdict.startswith("No significant difference yet: annual +5.0 pp")


def test_json_is_the_report_with_every_figure(app) -> None:
    with app.app_context():
        seed()
    result = run(app, KEY, "--json", "--tenant", "freelancers", "--since", "2026-11-01")
    assert result.exit_code == 0, result.output
    got = report(app, tenant="freelancers", since=WINDOW)
    assert json.loads(result.output) == json.loads(json.dumps(got.to_json()))
    days = run(app, KEY, "--json", "--since", "2026-11-01", "--until", "2026-11-11")
    data = json.loads(days.output)
    assert (data["since"], data["until"], data["tenant"]) == ("2026-11-01", "2026-11-11", None)
    assert [v["exposures"] for v in data["variants"]] == [110, 50]


def test_without_an_experiment_every_one_in_short(app) -> None:
    with app.app_context():
        seed()
    result = run(app)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{KEY} (running): all tenants, all days, split check p = " in out
    assert "home-hero (stopped): all tenants, all days, split check p = " in out
    assert "Revenue in" not in out  # the short form: conversion only
    assert row(out, "Sign-ups per exposure", "annual")[:4] == ["annual", "50%", "115", "18"]
    hero = out.split("home-hero (stopped)")[1]
    assert row(hero, "Sign-ups per exposure", "control")[:4] == ["control", "40%", "7", "1"]
    assert row(hero, "Sign-ups per exposure", "long") == [
        "long",
        "30%",
        "0",
        "0",
        "-",
        "not enough data",
    ]
    verdicts = [line for line in out.splitlines() if "Not enough data yet" in line]
    assert verdicts == [
        "Not enough data yet: control has 7 of 30 exposures and 1 of 5 sign-ups; short has 0 of "
        "30 exposures and 0 of 5 sign-ups; long has 0 of 30 exposures and 0 of 5 sign-ups."
    ]
    listed = json.loads(run(app, "--json").output)
    assert [r["experiment"]["key"] for r in listed] == [KEY, "home-hero"]
    assert listed[0]["variants"][1]["exposures"] == 115


@pytest.mark.parametrize(("annual", "mismatch"), [(4600, True), (4950, False)])
def test_a_sample_ratio_mismatch_is_loud(app, annual: int, mismatch: bool) -> None:
    with app.app_context():
        split_of(annual)
    plain = run(app, KEY)
    assert plain.exit_code == 0, plain.output
    assert ("Sample ratio mismatch (p = " in plain.output) is mismatch
    # On a terminal, in bold red, before the figures it casts doubt on.
    coloured = run(app, KEY, env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"}).output
    assert (f"{RED}Sample ratio mismatch" in coloured) is mismatch
    if mismatch:
        assert coloured.index("Sample ratio mismatch") < coloured.index("Sign-ups per exposure")
        assert json.loads(run(app, KEY, "--json").output)["srm"]["mismatch"] is True


def test_not_enough_data_in_place_of_the_comparisons(app) -> None:
    with app.app_context():
        seed()
    result = run(app, KEY, "--tenant", "agencies")
    assert result.exit_code == 0, result.output
    out = result.output
    assert row(out, "Sign-ups per exposure", "annual") == [
        "annual",
        "50%",
        "5",
        "2",
        "40.0% (11.8% to 76.9%)",
        "not enough data",
    ]
    usd = "Revenue in USD, net of refunds and chargebacks"
    assert row(out, usd, "control") == ["control", "1", "$45.00", "$4.50", "control", "$45.00"]
    assert row(out, usd, "annual") == ["annual", "0", "$0.00", "$0.00", "not enough data", "$0.00"]
    assert out.rstrip().splitlines()[-1] == (
        "Not enough data yet: control has 10 of 30 exposures and 1 of 5 sign-ups; "
        "annual has 5 of 30 exposures and 2 of 5 sign-ups."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nope"],
            "Invalid value for EXPERIMENT: no experiment 'nope' in site/experiments.toml; "
            f"it has: {KEY}, home-hero",
        ),
        (
            [KEY, "--since", "2026-13-01"],
            "Invalid value for '--since': '2026-13-01' is not a day: write it as YYYY-MM-DD, "
            "e.g. 2026-03-14",
        ),
        (
            [KEY, "--until", "20261101"],
            "Invalid value for '--until': '20261101' is not a day: write it as YYYY-MM-DD",
        ),
        (
            [KEY, "--tenant", "hobbyists"],
            "Invalid value for --tenant: no tenant 'hobbyists'; site/tenants.toml has: "
            "freelancers, agencies",
        ),
        (
            [KEY, "--since", "2026-11-02", "--until", "2026-11-01"],
            "Invalid value for --until: 2026-11-01 is before --since 2026-11-02",
        ),
    ],
)
def test_bad_input_is_named(app, args: list[str], message: str) -> None:
    result = run(app, *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_the_experiment_is_reported_as_the_service_applies_it(app) -> None:
    """An admin's stop (dynamic/split_tests/decisions.py) shows in the report's status and winner."""
    from dynamic.split_tests import decisions

    with app.app_context():
        admin = User(email="admin@example.com", tenant="freelancers", password_hash="!")
        db.session.add(admin)
        db.session.commit()
        decisions.stop(KEY, "annual", admin.id)
        assert experiment(app).status == "running"  # the file still says so
    data = json.loads(run(app, KEY, "--json").output)
    assert (data["experiment"]["status"], data["experiment"]["winner"]) == ("stopped", "annual")


def test_exposures_of_a_removed_variant_are_said_to_be_left_out(app) -> None:
    with app.app_context():
        expose("control", 40, "2026-11-10")
        expose("monthly", 12, "2026-11-09")
        db.session.commit()
    out = run(app, KEY).output
    assert "Left out: exposures of variants the experiment no longer has: monthly (12)" in out
    assert row(out, "Sign-ups per exposure", "control")[:4] == ["control", "50%", "40", "0"]
