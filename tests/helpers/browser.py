"""Headless Chromium for tests: Debian's /usr/bin/chromium driven by Playwright; and Node.js,
which runs Netlify's parser and the CloudFront function.

Never downloads a browser. Where Chromium or Playwright is missing the test skips with the
reason, unless FLOE_REQUIRE_SERVICES=1 (CI), where it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def node_json(script: Path, *args: str) -> Any:
    """Run ``node script args…`` and read what it prints as JSON (the test fails on an error)."""
    if shutil.which("node") is None:
        require("Node.js is not installed (apt-get install nodejs)")
    done = subprocess.run(
        ["node", str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


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
