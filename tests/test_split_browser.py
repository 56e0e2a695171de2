"""A split test in real headless Chromium: the first visit to a page under test is answered by
the service with the assigned variant, a reload is served by the edge from the cookie with the
same variant, the browser confirms the exposure, and sign-up stores the bucket it saw."""

from __future__ import annotations

import time

import pytest

from dynamic.accounts.models import User
from dynamic.core.db import db
from dynamic.split_tests.models import Exposure, UserAssignment
from tests.conftest import TENANT_HOST
from tests.helpers.accounts import PASSWORD
from tests.helpers.browser import chromium
from tests.helpers.stack import Stack, serve
from tests.helpers.visitor_cookie import visitor_id_of

EXPERIMENT = "pricing-annual-first"


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'floe.sqlite'}"


def wait_for(check, what: str, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_visitor_keeps_its_variant_and_signs_up_with_it(app, sample_build) -> None:
    app.config["FLOE_BUILD_DIR"] = str(sample_build.out)
    stack = Stack(sample_build.out, app)
    with (
        serve(sample_build.out, app, stack) as port,
        chromium(f"--host-resolver-rules=MAP {TENANT_HOST} 127.0.0.1") as browser,
    ):
        origin = f"http://{TENANT_HOST}:{port}"
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(origin + "/pricing/")
        seen = page.evaluate("document.documentElement.dataset.variant")
        assert stack.proxied == ["/app/split/page/pricing/"]  # no cookie yet: the service chose
        cookies = {c["name"] for c in page.context.cookies()}
        assert f"floe_x_{EXPERIMENT}_{seen}" in cookies and "floe_vid" in cookies
        held = next(c["value"] for c in page.context.cookies() if c["name"] == "floe_vid")
        visitor = visitor_id_of(held)  # <id>.<signature>: the variant comes from the id
        with app.app_context():
            expected = app.extensions["floe.experiments"][EXPERIMENT].assign(visitor).key
        assert seen == expected

        def exposure():
            with app.app_context():
                return db.session.scalars(db.select(Exposure)).all()

        [counted] = wait_for(exposure, "the exposure beacon")
        assert (counted.experiment, counted.variant, counted.visitor_id) == (
            EXPERIMENT,
            seen,
            visitor,
        )

        page.reload()
        assert page.evaluate("document.documentElement.dataset.variant") == seen
        assert stack.proxied == ["/app/split/page/pricing/"]  # the edge served it from the cookie
        wait_for(lambda: page.evaluate("document.readyState") == "complete", "the reload")
        assert len(exposure()) == 1  # confirmed again, counted once

        page.goto(origin + "/app/signup")
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Repeat the password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/app/account")
        assert errors == []
    with app.app_context():
        user = User.find("ada@example.com")
        buckets = db.session.scalars(
            db.select(UserAssignment).where(UserAssignment.user_id == user.id)
        ).all()
        assert [(b.experiment, b.variant) for b in buckets] == [(EXPERIMENT, seen)]


def test_without_cookie_routing_the_script_swaps_in_the_variant(app, sample_build) -> None:
    """A host that can only serve files: the page's script asks the service and swaps."""
    experiment = app.extensions["floe.experiments"][EXPERIMENT]
    visitor = next(
        f"visitor-{i:04d}-for-the-swap"
        for i in range(1000)
        if experiment.assign(f"visitor-{i:04d}-for-the-swap").key == "annual"
    )
    stack = Stack(sample_build.out, app, edge=False)
    with (
        serve(sample_build.out, app, stack) as port,
        chromium(f"--host-resolver-rules=MAP {TENANT_HOST} 127.0.0.1") as browser,
    ):
        context = browser.new_context()
        context.add_cookies(
            [{"name": "floe_vid", "value": visitor, "url": f"http://{TENANT_HOST}:{port}"}]
        )
        page = context.new_page()
        page.goto(f"http://{TENANT_HOST}:{port}/pricing/")
        page.wait_for_function("document.documentElement.dataset.variant === 'annual'")
        assert "two months free: Solo is $120 a year" in page.inner_text("main")
        assert stack.proxied == []
        cookies = {c["name"] for c in context.cookies()}
        assert f"floe_x_{EXPERIMENT}_annual" in cookies

        def exposure():
            with app.app_context():
                return db.session.scalars(db.select(Exposure)).all()

        [counted] = wait_for(exposure, "the exposure beacon")
        assert (counted.variant, counted.visitor_id) == ("annual", visitor)
