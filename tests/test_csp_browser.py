"""The built pages keep the Content-Security-Policy their host sends: each tenant's site is
served over HTTPS with its own ``_headers`` applied, as Netlify serves it, and real Chromium
opens a home page, a post with highlighted code and the split-tested pricing page in each of
its variants, and as a first view, which the service answers through the edge's proxy with the
same headers. No policy violation is reported, and what the policy could block did load: the
stylesheet (the tenant's colours show) and the split-test script (its beacon reaches /app)."""

from __future__ import annotations

import pytest

from floe.security_headers import SECURITY_HEADERS
from publish import netlify_headers as headers
from tests.helpers.browser import chromium
from tests.helpers.stack import Stack, serve

EXPERIMENT = "pricing-annual-first"
HOSTS = ("tallystack.example", "teams.tallystack.example")
#: Each tenant's pages to open, and its theme's background colour (site/tenants.toml).
PAGES = {
    "tallystack.example": (("/", "/blog/python-time-entries/"), "rgb(251, 250, 247)"),
    "teams.tallystack.example": (
        ("/", "/blog/measuring-utilisation-with-sqlite/"),
        "rgb(248, 250, 252)",
    ),
}
#: Collects the policy violations the page reports, before any of its own scripts run.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'floe.sqlite'}"


@pytest.fixture
def browser():
    rules = ", ".join(f"MAP {host} 127.0.0.1" for host in HOSTS)
    with chromium(f"--host-resolver-rules={rules}") as browser:
        yield browser


def open_page(context, url: str):
    """The page at ``url``, its answer, and the console's policy errors as they come."""
    page = context.new_page()
    page.add_init_script(LISTEN)
    console: list[str] = []
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    answer = page.goto(url)
    page.wait_for_load_state("load")
    return page, answer, console


def test_every_page_passes_the_policy_of_its_headers(app, sample_build, browser) -> None:
    app.config["FLOE_BUILD_DIR"] = str(sample_build.out)
    stack = Stack(sample_build.out, app, headers=True)
    with serve(sample_build.out, app, stack, tls=True) as port:
        context = browser.new_context(ignore_https_errors=True)
        for host, (paths, background) in PAGES.items():
            site = sample_build.out / host
            for path in paths:
                assert (site / path.lstrip("/") / "index.html").is_file(), (host, path)
                page, answer, console = open_page(context, f"https://{host}:{port}{path}")
                policy = headers.for_path(site, path)["Content-Security-Policy"]
                assert answer.status == 200, (host, path)
                assert answer.headers["content-security-policy"] == policy, (host, path)
                assert policy == SECURITY_HEADERS["Content-Security-Policy"]
                assert page.evaluate("window.__violations") == [], (host, path)
                assert console == [], (host, path)
                shown = page.evaluate("getComputedStyle(document.body).backgroundColor")
                assert shown == background, (host, path)  # the stylesheet was allowed
                page.close()


@pytest.mark.parametrize("variant", ["control", "annual", None], ids=["control", "annual", "first"])
def test_the_split_tested_page_passes_the_policy_in_each_variant(
    app, sample_build, browser, variant: str | None
) -> None:
    """A returning visitor's variant comes from the edge (its cookie), so it carries the
    site's headers; a first view (no cookie) is the service's answer through the edge's proxy,
    which the site's headers do not reach: the service sends the same ones. Either way the
    page's script runs under them and confirms the exposure."""
    app.config["FLOE_BUILD_DIR"] = str(sample_build.out)
    host = "tallystack.example"
    stack = Stack(sample_build.out, app, headers=True)
    with serve(sample_build.out, app, stack, tls=True) as port:
        origin = f"https://{host}:{port}"
        context = browser.new_context(ignore_https_errors=True)
        if variant is not None:
            context.add_cookies(
                [
                    {"name": "floe_vid", "value": "visitor-for-the-csp-test", "url": origin},
                    {"name": f"floe_x_{EXPERIMENT}_{variant}", "value": "1", "url": origin},
                ]
            )
        beacons: list[str] = []
        context.on("request", lambda r: beacons.append(r.url) if "/split/seen" in r.url else None)
        page, answer, console = open_page(context, origin + "/pricing/")
        shown = page.evaluate("document.documentElement.dataset.variant")
        if variant is None:  # no cookie yet: the service chose
            assert stack.proxied == ["/app/split/page/pricing/"]
            assert shown in ("control", "annual")
        else:
            assert stack.proxied == []  # served by the edge from the cookie
            assert shown == variant
        site = headers.for_path(sample_build.site(), "/pricing/")
        assert site == SECURITY_HEADERS
        for name, value in site.items():
            assert answer.headers[name.lower()] == value, name  # Playwright joins repeats
        for _ in range(200):  # the beacon is sent once the page is shown
            if beacons:
                break
            page.wait_for_timeout(50)  # lets Playwright deliver the browser's events
        assert beacons == [f"{origin}/app/split/seen?exp={EXPERIMENT}"]
        assert page.evaluate("window.__violations") == [] and console == []

        # The listener does hear a violation: an inline style, which the policy refuses.
        page.evaluate("document.body.setAttribute('style', 'color: red')")
        page.wait_for_function("window.__violations.length > 0")
        assert page.evaluate("window.__violations")[0].startswith("style-src")
