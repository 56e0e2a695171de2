"""Split tests in the dynamic service, on SQLite and PostgreSQL: the first view of a page under
test (with the site's security headers), the assignment cookies, the exposure beacon (once per
visitor; never bots or forced views), and the buckets copied onto a user at sign-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from dynamic import create_app
from dynamic.accounts.models import User
from dynamic.core.db import db
from dynamic.split_tests.models import Exposure, UserAssignment
from publish import netlify_headers as headers
from tests.conftest import REPO, TENANT_HOST, Project, dispose_service, migrated_service
from tests.helpers.accounts import HOST, signup
from tests.helpers.split import (
    BROWSER,
    EXPERIMENTS,
    assignment_cookies,
    cookie,
    split_service,
    visit,
)
from tests.helpers.visitor_cookie import visitor_id_of


@pytest.fixture
def app(database_url: str, tmp_path: Path):
    service = split_service(database_url, tmp_path)
    yield service
    dispose_service(service)


def experiment(app, key: str):
    return app.extensions["floe.experiments"][key]


def visitor(client) -> str:
    """The visitor id the client's ``floe_vid`` cookie carries (signed or not)."""
    return visitor_id_of(cookie(client, "floe_vid"))


def exposures(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.experiment, e.variant) for e in db.session.scalars(db.select(Exposure))]


def test_first_view_serves_the_assigned_variant_and_keeps_it(app) -> None:
    test = experiment(app, "pricing-headline")
    shown = set()
    for _ in range(40):
        client = app.test_client()
        response = visit(client)
        visitor = cookie(client, "floe_vid")
        variant = test.assign(visitor_id_of(visitor)).key
        expected = "VARIANT annual-first" if variant == "annual-first" else "CONTROL pricing"
        assert expected in response.text
        assert response.headers["Cache-Control"] == "private, no-store"
        assert assignment_cookies(client) == [f"floe_x_pricing-headline_{variant}"]
        again = visit(client)  # a reload keeps the visitor and the variant
        assert again.text == response.text and cookie(client, "floe_vid") == visitor
        shown.add(variant)
    assert shown == {"control", "annual-first"}


def test_a_first_view_carries_the_security_headers_of_the_site(
    database_url: str, sample_build: Project
) -> None:
    """On Netlify a first view is a proxied answer, which the site's ``_headers`` never reach:
    the service sends the site's security headers itself, each once, over HTTPS as the sites
    are served; the rest of its page (variant, cookies, no-store) is as before."""
    service = migrated_service(database_url, FLOE_BUILD_DIR=str(sample_build.out))
    try:
        rules = dict(headers.parse((sample_build.site() / "_headers").read_text()))
        site_wide = rules["/*"]
        assert {"Content-Security-Policy", "Strict-Transport-Security"} <= dict(site_wide).keys()
        client = service.test_client()
        for path in ("/app/split/page/pricing/", "/app/split/page/pricing/?floe_force=x:y"):
            first = client.get(path, headers=BROWSER, base_url=f"https://{TENANT_HOST}")
            assert first.status_code == 200 and 'data-page="pricing"' in first.text
            for name, value in site_wide:
                assert first.headers.getlist(name) == [value], (path, name)
            assert first.headers["Cache-Control"] == "private, no-store"
        assert cookie(client, "floe_vid") is not None
        # Over plain HTTP (development), the policy would move the page's assets to HTTPS.
        plain = client.get("/app/split/page/pricing/", headers=BROWSER)
        assert plain.status_code == 200
        assert "Content-Security-Policy" not in plain.headers
        assert "Strict-Transport-Security" not in plain.headers
    finally:
        dispose_service(service)


def test_visitors_outside_the_coverage_see_the_control_with_a_cookie(app) -> None:
    test = experiment(app, "home-hero")
    outside = 0
    for _ in range(30):
        client = app.test_client()
        response = visit(client, "/app/split/page/")
        variant = test.assign(visitor(client))
        if variant is None:
            outside += 1
            assert "CONTROL home" in response.text
            assert assignment_cookies(client) == ["floe_x_home-hero_none"]
    assert outside > 0


def test_a_stopped_experiment_or_a_missing_variant_file_serves_the_control(app) -> None:
    client = app.test_client()
    assert "CONTROL features" in visit(client, "/app/split/page/features/").text
    (
        Path(app.config["FLOE_BUILD_DIR"]) / TENANT_HOST / "pricing@annual-first" / "index.html"
    ).unlink()
    for _ in range(10):
        assert "CONTROL pricing" in visit(app.test_client()).text
    assert app.test_client().get("/app/split/page/nothing/", headers=BROWSER).status_code == 404


def test_a_forced_variant_is_shown_and_never_counted(app) -> None:
    client = app.test_client()
    response = visit(client, "/app/split/page/pricing/?floe_force=pricing-headline:annual-first")
    assert "VARIANT annual-first" in response.text and assignment_cookies(client) == []
    visit(client)  # now assigned for real
    client.post("/app/split/seen?exp=pricing-headline&force=1", headers=BROWSER)
    client.post(
        "/app/split/seen?exp=pricing-headline&floe_force=pricing-headline:annual-first",
        headers=BROWSER,
    )
    assert exposures(app) == []


def test_an_exposure_counts_once_per_visitor_and_never_for_bots(app) -> None:
    test = experiment(app, "pricing-headline")
    client = app.test_client()
    visit(client)
    for _ in range(3):
        beacon = client.post("/app/split/seen?exp=pricing-headline", headers=BROWSER)
        assert beacon.status_code == 204
    assert exposures(app) == [("pricing-headline", test.assign(visitor(client)).key)]

    bot = app.test_client()
    googlebot = {**HOST, "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}
    assert "<title>" in visit(bot, headers=googlebot).text  # served like anyone
    assert bot.post("/app/split/seen?exp=pricing-headline", headers=googlebot).status_code == 204
    cookieless = app.test_client()
    assert (
        cookieless.post("/app/split/seen?exp=pricing-headline", headers=BROWSER).status_code == 204
    )
    assert len(exposures(app)) == 1


def test_the_beacon_needs_no_csrf_token_and_survives_a_database_error(app, monkeypatch) -> None:
    client = app.test_client()
    visit(client)

    def broken():
        raise OperationalError("INSERT", {}, Exception("the database is down"))

    monkeypatch.setattr(db.session, "commit", broken)
    assert client.post("/app/split/seen?exp=pricing-headline", headers=BROWSER).status_code == 204
    monkeypatch.undo()
    assert exposures(app) == []


def test_assign_answers_json_for_hosts_without_cookie_routing(app) -> None:
    client = app.test_client()
    answer = client.get("/app/split/assign?exp=pricing-headline", headers=BROWSER).get_json()
    expected = experiment(app, "pricing-headline").assign(visitor(client)).key
    assert answer == {"experiment": "pricing-headline", "variant": expected}
    assert assignment_cookies(client) == [f"floe_x_pricing-headline_{expected}"]
    unknown = client.get("/app/split/assign?exp=nope", headers=BROWSER).get_json()
    assert unknown == {"experiment": "nope", "variant": None}


def test_sign_up_copies_the_visitors_buckets(app) -> None:
    client = app.test_client()
    visit(client)
    client.post("/app/split/seen?exp=pricing-headline", headers=BROWSER)
    visit(client, "/app/split/page/")  # assigned (cookie), not confirmed
    visitor_id = visitor(client)
    # A hand-made cookie claiming the other variant changes nothing: the id decides.
    client.set_cookie("floe_x_pricing-headline_annual-first", "1", domain=TENANT_HOST)
    client.set_cookie("floe_x_pricing-headline_control", "1", domain=TENANT_HOST)
    assert signup(client).status_code == 302
    with app.app_context():
        user = User.find("ada@example.com")
        stored = {
            a.experiment: a.variant
            for a in db.session.scalars(
                db.select(UserAssignment).where(UserAssignment.user_id == user.id)
            )
        }
    expected = {}
    for key in ("pricing-headline", "home-hero"):
        variant = experiment(app, key).assign(visitor_id)
        if variant is not None:
            expected[key] = variant.key
    assert stored == expected and "pricing-headline" in stored


def test_split_assign_command(app) -> None:
    runner = app.test_cli_runner()
    test = experiment(app, "home-hero")
    ids = [f"visitor-{i:04d}-abcdefgh" for i in range(20)]
    result = runner.invoke(args=["split", "assign", "home-hero", *ids])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [f"{i}\t{(test.assign(i).key if test.assign(i) else '-')}" for i in ids]
    piped = runner.invoke(args=["split", "assign", "home-hero"], input="\n".join(ids) + "\n")
    assert piped.output.splitlines() == lines
    unknown = runner.invoke(args=["split", "assign", "nope"])
    assert unknown.exit_code == 2 and "no experiment 'nope'" in unknown.output


def test_bad_experiments_refuse_to_start(tmp_path) -> None:
    site = tmp_path / "site"
    shutil.copytree(REPO / "site", site)
    (site / "experiments.toml").write_text(
        EXPERIMENTS.replace("weight = 0.5\n", "weight = 0.6\n", 1)
    )
    from floe.errors import SourceError

    with pytest.raises(
        SourceError, match=r"experiments\.pricing-headline\.variants: the weights add up to 1\.1"
    ):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "FLOE_SITE_DIR": str(site)})


@pytest.mark.parametrize(
    "path",
    [
        "/app/split/page/%2e%2e/%2e%2e/etc/",
        "/app/split/page/%2e%2e/teams.tallystack.example/pricing/",
        "/app/split/page/" + "a" * 300 + "/",
        "/app/split/page/pricing/index.html",
    ],
)
def test_only_landing_pages_are_served(app, path: str) -> None:
    assert app.test_client().get(path, headers=BROWSER).status_code == 404
