"""The admin's split tests, on SQLite and PostgreSQL: the dashboard and each experiment's page
with its figures, chart and sample-ratio warning, for admins only; the report's filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dynamic.accounts.models import User
from dynamic.core.db import db
from dynamic.payments.models import Payment
from dynamic.split_tests.models import Exposure, UserAssignment
from dynamic.split_tests.report import build_report, format_p
from tests.conftest import dispose_service
from tests.helpers.accounts import HOST, csrf_token, signup
from tests.helpers.split import DASHBOARD, PAGE, admin_browser, parse, split_service, text_of

START = dt.date(2026, 11, 1)


@pytest.fixture
def app(database_url: str, tmp_path: Path):
    service = split_service(database_url, tmp_path)
    yield service
    dispose_service(service)


@pytest.fixture
def admin(app):
    return admin_browser(app)


def seed(
    app,
    variant: str,
    *,
    exposures: int,
    signups: int = 0,
    payments: tuple[tuple[int, int, str], ...] = (),
    experiment: str = "pricing-headline",
    days: int = 7,
) -> None:
    """``exposures`` visitors of ``variant`` over ``days`` days from START, the first
    ``signups`` of them signed up; ``payments``: (users, amount, currency), paid by the first
    sign-ups."""

    def at(i: int) -> dt.datetime:
        return dt.datetime.combine(START + dt.timedelta(days=i % days), dt.time(12), dt.UTC)

    with app.app_context():
        db.session.execute(
            db.insert(Exposure),
            [
                {
                    "visitor_id": f"{variant}-{i:07d}-visitor",
                    "experiment": experiment,
                    "variant": variant,
                    "tenant": "freelancers",
                    "seen_at": at(i),
                }
                for i in range(exposures)
            ],
        )
        users = [
            User(
                email=f"{experiment}-{variant}-{i}@example.com",
                password_hash="!",
                tenant="freelancers",
            )
            for i in range(signups)
        ]
        db.session.add_all(users)
        db.session.flush()
        for i, user in enumerate(users):
            db.session.add(
                UserAssignment(
                    user_id=user.id, experiment=experiment, variant=variant, assigned_at=at(i)
                )
            )
        paying = iter(users)
        for count, amount, currency in payments:
            for _ in range(count):
                db.session.add(
                    Payment(
                        user_id=next(paying).id,
                        status="paid",
                        amount=amount,
                        currency=currency,
                        created_at=at(0),
                    )
                )
        db.session.commit()


def cells(row) -> list[str]:
    """The text of a table row's cells, lines (``<br>``) apart by a space."""
    return [" ".join(" ".join(td.itertext()).split()) for td in row.cssselect("td")]


def test_only_admins_see_split_tests(app, client, admin) -> None:
    anonymous = client.get(DASHBOARD, headers=HOST)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/app/login?next=%2Fapp%2Fadmin%2Fexperiments%2F"
    assert client.get(PAGE, headers=HOST).status_code == 302
    signup(client)
    for path in (DASHBOARD, PAGE):
        refused = client.get(path, headers=HOST)
        assert refused.status_code == 403 and "for administrators" in refused.text
    token = csrf_token(client, "/app/account")
    stop = client.post(PAGE + "/stop", headers=HOST, data={"csrf_token": token, "winner": ""})
    assert stop.status_code == 403
    assert admin.get(DASHBOARD, headers=HOST).status_code == 200
    assert 'href="/app/admin/experiments/"' in admin.get("/app/admin/", headers=HOST).text
    assert admin.get(DASHBOARD + "no-such-test", headers=HOST).status_code == 404


def test_the_dashboard_lists_every_experiment_with_its_status_and_verdict(app, admin) -> None:
    seed(app, "control", exposures=1000, signups=50)
    seed(app, "annual-first", exposures=1000, signups=80)
    doc = parse(admin.get(DASHBOARD, headers=HOST))
    rows = {
        row.cssselect("td a")[0].text: cells(row)
        for row in doc.cssselect("table.experiments tbody tr")
    }
    assert list(rows) == ["pricing-headline", "home-hero", "old-test"]
    pricing, hero, old = rows["pricing-headline"], rows["home-hero"], rows["old-test"]
    assert pricing[1] == "freelancers: pricing"
    assert pricing[2] == "running" and hero[2] == "running"
    assert old[2] == "stopped everyone sees control"
    assert pricing[3:5] == ["2,000", "130"]
    assert pricing[5].startswith("annual-first beats control: +3.0 pp")
    assert hero[5].startswith("Not enough data yet: control has 0 of 30 exposures")
    assert doc.cssselect(f'a[href="{PAGE}"]')


def test_the_experiment_page_shows_the_figures_and_the_chart(app, admin) -> None:
    seed(app, "control", exposures=1000, signups=50, payments=((10, 1200, "usd"),))
    seed(
        app,
        "annual-first",
        exposures=1000,
        signups=80,
        payments=((20, 1200, "usd"), (2, 5000, "eur")),
    )
    response = admin.get(PAGE, headers=HOST)
    assert response.status_code == 200
    doc = parse(response)
    variants = {
        row.cssselect("th")[0].text_content(): cells(row)
        for row in doc.cssselect("table.variants tbody tr")
    }
    assert variants["control (control)"][:2] == ["1,000", "50"]
    assert variants["control (control)"][2].startswith("5.00% (")
    assert variants["annual-first"][:2] == ["1,000", "80"]
    assert variants["annual-first"][2].startswith("8.00% (")
    # Paying users, revenue, revenue per visitor and LTV per sign-up, per currency.
    assert variants["control (control)"][3:] == [
        "EUR 0 USD 10",
        "€0.00 $120.00",
        "€0.00 $0.12",
        "€0.00 $2.40",
    ]
    assert variants["annual-first"][3:] == [
        "EUR 2 USD 20",
        "€100.00 $240.00",
        "€0.10 $0.24",
        "€1.25 $3.00",
    ]

    with app.app_context():
        report = build_report(app.extensions["floe.experiments"]["pricing-headline"])
    compared = report.variants[1].vs_control
    row = cells(doc.cssselect("table.comparison tbody tr")[0])
    low, high = compared.absolute_ci
    assert row[0] == f"+3.0 pp ({low * 100:+.1f} to {high * 100:+.1f} pp)"
    relative_low, relative_high = compared.relative_ci
    assert row[1] == f"+60.0% ({relative_low * 100:+.1f}% to {relative_high * 100:+.1f}%)"
    assert row[2] == format_p(compared.p_value) == "0.007"
    assert row[3] == f"{compared.chance_to_beat * 100:.1f}%"
    money = report.variants[1].revenue_vs_control

    def difference(currency: str, symbol: str) -> str:
        def signed(cents: float) -> str:
            return f"{'-' if round(cents) < 0 else '+'}{symbol}{abs(round(cents)) / 100:.2f}"

        m = money[currency]
        return f"{signed(m.difference)} ({signed(m.ci[0])} to {signed(m.ci[1])}; p = {format_p(m.p_value)})"

    # Per visitor: 10 euro cents against none, 24 dollar cents against 12.
    assert row[4] == f"{difference('eur', '€')} {difference('usd', '$')}"
    assert row[4].startswith("+€0.10 (") and " +$0.12 (" in row[4]
    assert "annual-first beats control" in text_of(doc, ".verdict")

    chart = doc.cssselect(".conversion-chart svg")
    assert len(chart) == 1 and chart[0].get("role") == "img"
    assert len(chart[0].cssselect("path.line")) == 2
    assert len(chart[0].cssselect("polygon.band")) == 2
    assert [t.text for t in chart[0].cssselect("g.series > title")] == ["control", "annual-first"]
    assert "1 Nov" in chart[0].text_content()
    assert not doc.cssselect(".srm")
    # Nothing inline that a policy without 'unsafe-inline' would block.
    assert not doc.xpath("//style | //*[@style] | //script[not(@src)]")


@pytest.mark.parametrize(("other", "warned"), [(4600, True), (4950, False)])
def test_a_sample_ratio_mismatch_is_shown(app, admin, other: int, warned: bool) -> None:
    seed(app, "control", exposures=5000, signups=250, days=3)
    seed(app, "annual-first", exposures=other, signups=250, days=3)
    doc = parse(admin.get(PAGE, headers=HOST))
    warning = text_of(doc, ".srm")
    if warned:
        assert warning.startswith("Sample ratio mismatch.")
        assert "control 5,000 (expected 4,800), annual-first 4,600 (expected 4,800)" in warning
        assert "Do not trust these figures" in warning
        assert text_of(doc, ".verdict").startswith("Verdict: Sample ratio mismatch")
    else:
        assert warning == ""
        assert "mismatch" not in text_of(doc, ".verdict")


def test_not_enough_data_withholds_the_comparison(app, admin) -> None:
    seed(app, "control", exposures=40, signups=6)
    seed(app, "annual-first", exposures=20, signups=2)
    doc = parse(admin.get(PAGE, headers=HOST))
    cell = text_of(doc, "table.comparison td.not-enough")
    assert cell == "Not enough data yet: annual-first has 20 of 30 exposures and 2 of 5 sign-ups."
    assert text_of(doc, ".verdict").startswith("Verdict: Not enough data yet")
    assert "pp" not in text_of(doc, "table.comparison")
    # The chart still draws what there is.
    assert len(doc.cssselect("svg.chart path.line")) == 2


def test_no_visitors_yet(app, admin) -> None:
    doc = parse(admin.get(PAGE, headers=HOST))
    assert "No visitors yet" in text_of(doc, "svg.chart")
    assert "Not enough data yet" in text_of(doc, ".verdict")
    assert not doc.cssselect(".srm")


def test_filters_by_site_and_day(app, admin) -> None:
    seed(app, "control", exposures=70, signups=7, days=7)
    since = admin.get(PAGE + "?since=2026-11-05", headers=HOST)
    row = parse(since).cssselect("table.variants tbody tr")[0]
    assert row.cssselect("td")[0].text_content() == "30"  # days 5, 6, 7 of 7
    other_site = parse(admin.get(DASHBOARD + "?tenant=agencies", headers=HOST))
    assert text_of(other_site, "table.experiments tbody tr:first-child td:nth-child(4)") == "0"
    assert other_site.cssselect("select#tenant option[selected]")[0].get("value") == "agencies"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?since=2026-13-45", "Not a valid date value."),
        ("?since=yesterday", "Not a valid date value."),
        ("?tenant=nope", "No site 'nope' here: choose freelancers"),
    ],
)
def test_bad_filters_get_a_clear_400(app, admin, query: str, message: str) -> None:
    for path in (DASHBOARD, PAGE):
        response = admin.get(path + query, headers=HOST)
        assert response.status_code == 400
        assert message in text_of(parse(response), "form.filters .error")
    listing = admin.get(DASHBOARD + "?tenant=nope", headers=HOST)
    assert "choose freelancers, agencies." in text_of(parse(listing), "form.filters .error")
    # The page's sites are the experiment's: agencies is a site, but not one it runs on.
    response = admin.get(PAGE + "?tenant=agencies", headers=HOST)
    assert response.status_code == 400 and "choose freelancers." in response.text
