"""Mailed links and every absolute URL the service builds come from the configured site URL
(FLOE_SITE_URL, FLOE_SITE_URL_<KEY>), never from the request's Host: a reset link on a host of
the attacker's choosing would hand them the account."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dynamic.core.config import ConfigError, load_config
from floe.tenants import load_tenants
from tests.conftest import REPO, TENANT_HOST, dispose_service, migrated_service, production
from tests.helpers.accounts import csrf_token, outbox, post_form, signup

LINK = re.compile(r"https?://\S+")
HOSTILE_HOSTS = [
    "tallystack.example:1@evil.com",  # Werkzeug 3.1.6 took evil.com for the link's host
    "tallystack.example:evil.com",
    "tallystack.example:443/@evil.com",
    "evil.com#@tallystack.example",
]


@pytest.fixture
def production_links(database_url: str):
    """The service with production's site URL (https://{domain}) on a migrated database."""
    service = migrated_service(database_url, FLOE_SITE_URL="https://{domain}")
    yield service
    dispose_service(service)


def mailed_links(app, to: str) -> list[str]:
    return [link for m in outbox(app) if m.to == to for link in LINK.findall(m.text)]


def ask_reset(app, host: str, email: str = "ada@example.com"):
    client = app.test_client()
    # The form and its token from the real site, the request under the hostile Host.
    token = csrf_token(client, "/app/reset")
    return client.post(
        "/app/reset",
        headers={"Host": host},
        data={"csrf_token": token, "email": email},
        buffered=True,  # the mail goes once the response is sent (dynamic/core/mail.py)
    )


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
def test_a_hostile_host_never_reaches_a_mailed_link(production_links, host: str) -> None:
    signup(production_links.test_client())
    before = len(outbox(production_links))
    answer = ask_reset(production_links, host)
    links = mailed_links(production_links, "ada@example.com")[before:]
    # Either refused (no tenant for that host), or the link is on the tenant's own site.
    assert answer.status_code in (302, 400, 404), answer.status_code
    if answer.status_code != 302:
        assert len(outbox(production_links)) == before
    assert all(link.startswith(f"https://{TENANT_HOST}/app/") for link in links), links
    assert not any("evil" in link for link in links)


def test_a_port_in_the_host_header_does_not_reach_the_link(production_links) -> None:
    signup(production_links.test_client())
    answer = ask_reset(production_links, f"{TENANT_HOST}:8443")
    assert answer.status_code == 302
    (link,) = mailed_links(production_links, "ada@example.com")[-1:]
    assert link.startswith(f"https://{TENANT_HOST}/app/reset/"), link


def test_verification_links_use_the_site_url_not_the_scheme_of_the_request(
    production_links,
) -> None:
    signup(production_links.test_client())  # over plain http, as a misconfigured proxy would
    (link,) = mailed_links(production_links, "ada@example.com")
    assert link.startswith(f"https://{TENANT_HOST}/app/verify/"), link


def test_an_admin_on_another_site_mails_a_link_to_the_users_own(production_links) -> None:
    from dynamic.accounts.models import User
    from dynamic.core.db import db

    signup(production_links.test_client(), email="carol@example.com", host=TENANT_HOST)
    admin = production_links.test_client()
    signup(admin, email="root@example.com", host="teams.tallystack.example")
    with production_links.app_context():
        root = db.session.query(User).filter_by(email="root@example.com").one()
        root.is_admin = True
        carol = db.session.query(User).filter_by(email="carol@example.com").one().id
        db.session.commit()
    page = f"/app/admin/users/{carol}"
    sent = post_form(admin, page, f"{page}/reset", host="teams.tallystack.example")
    assert sent.status_code == 302
    link = mailed_links(production_links, "carol@example.com")[-1]
    assert link.startswith(f"https://{TENANT_HOST}/app/reset/"), link


def test_a_tenant_override_takes_precedence(database_url: str) -> None:
    service = migrated_service(
        database_url,
        FLOE_SITE_URL="https://{domain}",
        FLOE_SITE_URLS={"FLOE_SITE_URL_FREELANCERS": "http://127.0.0.1:8001"},
    )
    try:
        signup(service.test_client())
        (link,) = mailed_links(service, "ada@example.com")
        assert link.startswith("http://127.0.0.1:8001/app/verify/"), link
    finally:
        dispose_service(service)


@pytest.mark.parametrize(
    "host",
    [
        "tallystack.example:1@evil.com",
        "tallystack.example:abc",
        "tallystack.example:",
        "tallystack.example:\u0665",  # an Arabic-Indic digit: str.isdigit says yes
        "tallystack.example:5000:5000",
        "tallystack.example :80",
    ],
)
def test_the_tenant_lookup_accepts_only_digits_as_a_port(host: str) -> None:
    tenants = load_tenants(REPO / "site" / "tenants.toml")
    assert tenants.by_host(host) is None


@pytest.mark.parametrize(
    "host", ["tallystack.example", "tallystack.example:5000", "TallyStack.Example.", " a:1"]
)
def test_the_tenant_lookup_still_takes_ports_and_capitals(host: str) -> None:
    tenants = load_tenants(REPO / "site" / "tenants.toml")
    found = tenants.by_host(host)
    assert (found.key if found else None) == (None if "a:1" in host else "freelancers")


def test_production_links_are_https_on_the_tenants_domain(tmp_path: Path) -> None:
    config = load_config(production(tmp_path), str(tmp_path))
    assert config["FLOE_SITE_URL"] == "https://{domain}"
    assert load_config({}, str(tmp_path))["FLOE_SITE_URL"] == "http://{domain}:5000"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FLOE_SITE_URL": "http://{domain}"}, "https:// only"),
        ({"FLOE_SITE_URL_FREELANCERS": "http://tallystack.example"}, "FLOE_SITE_URL_FREELANCERS"),
        ({"FLOE_SITE_URL": "https://{domain}/app"}, "without a path"),
        ({"FLOE_SITE_URL": "https://{host}"}, "{domain}"),
    ],
)
def test_production_refuses_a_site_url_it_cannot_mail(
    tmp_path: Path, environ: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config({**production(tmp_path), **environ}, str(tmp_path))


def test_an_override_for_no_tenant_is_refused() -> None:
    from dynamic import create_app

    with pytest.raises(ConfigError, match="FLOE_SITE_URL_FREELANCER: no such tenant"):
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "FLOE_SITE_URLS": {"FLOE_SITE_URL_FREELANCER": "https://x.example"},
            }
        )
