"""Sign-up, logout and login in real headless Chromium, on the static site's own host: the
header's "Log in" link, the service's themed forms, and the hint cookie that lets the static
pages show "Account" without asking the service on anonymous visits."""

from __future__ import annotations

import pytest

from tests.conftest import TENANT_HOST
from tests.helpers.accounts import PASSWORD
from tests.helpers.browser import chromium
from tests.helpers.stack import serve


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'floe.sqlite'}"


def test_sign_up_log_out_and_log_in_in_chromium(app, sample_build) -> None:
    with (
        serve(sample_build.out, app) as port,
        chromium(f"--host-resolver-rules=MAP {TENANT_HOST} 127.0.0.1") as browser,
    ):
        origin = f"http://{TENANT_HOST}:{port}"
        page = browser.new_page()
        asked: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/app/api/me" in r.url else None)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        # An anonymous reader: the header offers "Log in", and the service is never asked.
        page.goto(origin + "/")
        account = page.locator("header a.account")
        assert account.inner_text() == "Log in"
        page.goto(origin + "/blog/")
        assert asked == [] and errors == []

        # Sign up from the header's link.
        account.click()
        page.wait_for_url("**/app/login")
        page.get_by_role("link", name="Create an account").click()
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Repeat the password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/app/account")
        assert "Logged in as ada@example.com" in page.inner_text("main")
        assert "We sent a link to ada@example.com" in page.inner_text("main")
        stylesheet = page.evaluate("getComputedStyle(document.querySelector('button')).cursor")
        assert stylesheet == "pointer"  # the site's CSS applies to the service's pages

        # Back on a static page, the hint cookie makes the header ask, and say "Account".
        page.goto(origin + "/blog/")
        page.wait_for_function(
            "document.querySelector('header a.account').textContent === 'Account'"
        )
        assert page.locator("header a.account").get_attribute("href") == "/app/account"
        assert len(asked) == 1

        # Log out: home again, anonymous, and the hint is gone.
        page.goto(origin + "/app/account")
        page.get_by_role("button", name="Log out", exact=True).click()
        page.wait_for_url(origin + "/")
        assert page.locator("header a.account").inner_text() == "Log in"
        assert not [c for c in page.context.cookies() if c["name"] == "floe_account"]

        # Log in, with a wrong password first (its page answers 400, which Chromium logs).
        assert errors == []
        page.goto(origin + "/app/login")
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        assert "Wrong email or password." in page.inner_text("main")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Keep me logged in on this device").check()
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/app/account")
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["session"]["httpOnly"] and cookies["remember_token"]["httpOnly"]
        assert cookies["session"]["sameSite"] == "Lax" and not cookies["floe_account"]["httpOnly"]
        assert errors == [
            "Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"
        ]
