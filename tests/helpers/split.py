"""The dynamic service's split tests as the tests set them up: three experiments with a build
output holding their variants, a browser's visits and cookies, and a logged-in admin's view of
the split-test pages."""

from __future__ import annotations

import shutil
from pathlib import Path

import lxml.html

from tests.conftest import REPO, TENANT_HOST, migrated_service
from tests.helpers.accounts import HOST, PASSWORD, login

BROWSER = {**HOST, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36"}
#: One running test of the pricing page, 50/50 (the payment tests run it too).
PRICING_HEADLINE = """
[experiments.pricing-headline]
tenants = ["freelancers"]
pages = ["pricing"]
status = "running"

[[experiments.pricing-headline.variants]]
key = "control"
weight = 0.5

[[experiments.pricing-headline.variants]]
key = "annual-first"
weight = 0.5
"""
EXPERIMENTS = (
    PRICING_HEADLINE
    + """
[experiments.home-hero]
tenants = ["freelancers"]
pages = ["home"]
status = "running"
coverage = 0.4

[[experiments.home-hero.variants]]
key = "control"
weight = 0.5

[[experiments.home-hero.variants]]
key = "short"
weight = 0.5

[experiments.old-test]
tenants = ["freelancers"]
pages = ["features"]
status = "stopped"

[[experiments.old-test.variants]]
key = "control"
weight = 0.5

[[experiments.old-test.variants]]
key = "bold"
weight = 0.5
"""
)
PAGES = {
    "pricing/index.html": "CONTROL pricing",
    "pricing@annual-first/index.html": "VARIANT annual-first",
    "index.html": "CONTROL home",
    "home@short/index.html": "VARIANT short",
    "features/index.html": "CONTROL features",
    "features@bold/index.html": "VARIANT bold",
}


def split_service(database_url: str, tmp_path: Path):
    """The service with three experiments and a build output holding their variants (the
    same folders when called again: a second worker of the same deployment)."""
    site = tmp_path / "site"
    if not site.exists():
        shutil.copytree(REPO / "site", site)
        (site / "experiments.toml").write_text(EXPERIMENTS)
        build = tmp_path / "build" / TENANT_HOST
        for name, text in PAGES.items():
            (build / name).parent.mkdir(parents=True, exist_ok=True)
            (build / name).write_text(f"<!doctype html><title>{text}</title>")
    return migrated_service(
        database_url, FLOE_SITE_DIR=str(site), FLOE_BUILD_DIR=str(tmp_path / "build")
    )


def visit(client, path: str = "/app/split/page/pricing/", headers=BROWSER):
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response


def cookie(client, name: str) -> str | None:
    found = client.get_cookie(name, domain=TENANT_HOST)
    return found.value if found else None


def assignment_cookies(client) -> list[str]:
    return sorted(c.key for c in client._cookies.values() if c.key.startswith("floe_x_"))


# --- the admin's split-test pages ---

ADMIN = "root@example.com"
DASHBOARD = "/app/admin/experiments/"
PAGE = DASHBOARD + "pricing-headline"


def admin_browser(app):
    """A logged-in admin's browser."""
    result = app.test_cli_runner().invoke(args=["create-admin", ADMIN, "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    browser = app.test_client()
    assert login(browser, email=ADMIN).status_code == 302
    return browser


def parse(response):
    return lxml.html.fromstring(response.text)


def text_of(doc, selector: str) -> str:
    return " ".join(" ".join(" ".join(e.itertext()) for e in doc.cssselect(selector)).split())
