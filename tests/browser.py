"""Headless Chromium for tests: Debian's /usr/bin/chromium driven by Playwright.

Never downloads a browser. Where Chromium or Playwright is missing the test skips with the
reason, unless FLOE_REQUIRE_SERVICES=1 (CI), where it fails instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require(reason: str) -> None:
    if os.environ.get("FLOE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (FLOE_REQUIRE_SERVICES=1: CI must provide it)")
    pytest.skip(reason)


@contextmanager
def chromium(*args: str) -> Iterator[object]:
    """A Playwright browser on Debian's Chromium, with ``args`` after the required flags."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        require("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*FLAGS, *args], headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
