"""The service's pages wear their tenant's theme (the static site's base template and CSS), and
the static pages learn cheaply whether the visitor is logged in (the hint cookie)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TENANT_HOST
from tests.helpers.accounts import HOST, logout, signup

AGENCIES_HOST = "teams.tallystack.example"
CSS = re.compile(r'<link rel="stylesheet" href="(/static/css/site\.[0-9a-f]+\.css)">')


@pytest.fixture
def database_url(tmp_path) -> str:
    """Nothing here depends on the database: SQLite only."""
    return f"sqlite:///{tmp_path / 'floe.sqlite'}"


def css_url(html: str) -> str:
    match = CSS.search(html)
    assert match, "no stylesheet link"
    return match.group(1)


def test_pages_link_the_css_bundle_the_static_site_deployed(client, sample_build) -> None:
    for host in (TENANT_HOST, AGENCIES_HOST):
        static_home = (sample_build.out / host / "index.html").read_text()
        page = client.get("/app/login", headers={"Host": host}).text
        assert css_url(page) == css_url(static_home)
    freelancers = client.get("/app/login", headers=HOST).text
    agencies = client.get("/app/login", headers={"Host": AGENCIES_HOST}).text
    assert css_url(freelancers) != css_url(agencies)  # each tenant's own colours
    assert "built for studios of 5 to 50 people" in agencies  # the agencies' own footer
    assert "built for studios" not in freelancers
    assert '<meta name="robots" content="noindex">' in freelancers
    assert "<title>Log in · Tallystack</title>" in freelancers


def test_development_serves_the_css_itself(client) -> None:
    url = css_url(client.get("/app/login", headers=HOST).text)
    css = client.get(url, headers=HOST)
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert b"--primary:" in css.data
    assert client.get("/static/css/site.0000000000.css", headers=HOST).status_code == 404


def test_header_says_log_in_or_account(client) -> None:
    anonymous = client.get("/app/login", headers=HOST).text
    assert '<a class="account" href="/app/login">Log in</a>' in anonymous
    assert "account.js" not in anonymous  # the service knows: no script needed
    signup(client)
    account = client.get("/app/account", headers=HOST).text
    assert '<a class="account" href="/app/account">Account</a>' in account


def test_the_hint_cookie_is_set_at_login_and_dropped_at_logout(client) -> None:
    response = signup(client)
    [hint] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("floe_account=")]
    assert "floe_account=1;" in hint and "HttpOnly" not in hint and "Path=/" in hint
    assert "SameSite=Lax" in hint
    response = logout(client)
    [gone] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("floe_account=")]
    assert "Max-Age=0" in gone or "Expires=Thu, 01 Jan 1970" in gone


def test_static_pages_ask_only_with_the_hint(sample_build) -> None:
    home = (sample_build.out / TENANT_HOST / "index.html").read_text()
    assert '<a class="account" href="/app/login" data-account-link>Log in</a>' in home
    script = re.search(r'<script src="(/static/js/account\.[0-9a-f]+\.js)" defer>', home).group(1)
    source = (sample_build.out / TENANT_HOST / script.lstrip("/")).read_text()
    assert "floe_account=1" in source and "/app/api/me" in source


def test_answers_are_private_and_not_framed(client) -> None:
    page = client.get("/app/login", headers=HOST)
    assert page.headers["Cache-Control"] == "private, no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "same-origin"


def test_a_form_without_its_token_gets_a_page_that_says_what_to_do(client) -> None:
    response = client.post("/app/login", headers=HOST, data={"email": "a@example.com"})
    assert response.status_code == 400 and "reload the page and try again" in response.text
