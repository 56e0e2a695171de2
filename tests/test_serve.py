"""``build.py serve``: a live preview that follows the writer's edits."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import REPO, Project


@pytest.fixture
def preview(sample: Project):
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "build.py"),
            "--project",
            str(sample.root),
            "serve",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert match, line + process.stdout.read() if process.poll() is not None else line
    yield f"http://127.0.0.1:{match.group(1)}", sample
    process.terminate()
    process.wait(timeout=10)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(url: str, text: str, seconds: float = 10) -> tuple[float, int, str]:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        status, body = get(url)
        if text in body:
            return time.monotonic() - started, status, body
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared at {url}:\n{body[:2000]}")


def test_serve_shows_an_edit_and_a_mistake_in_the_page(preview) -> None:
    base, sample = preview
    url = f"{base}/blog/setting-a-day-rate/"
    status, page = get(url)
    assert status == 200 and "Most freelancers pick a day rate" in page
    assert '<script src="/__floe/live.js"></script>' in page  # the live-reload hook
    version = get(f"{base}/__floe/version")[1]

    post = sample.content / "posts" / "setting-a-day-rate.md"
    post.write_text(post.read_text().replace("Most freelancers pick", "Most freelancers choose"))
    seconds, status, _ = wait_for(url, "Most freelancers choose a day rate")
    assert status == 200 and seconds < 5
    assert get(f"{base}/__floe/version")[1] != version  # open pages reload themselves

    post.write_text(post.read_text().replace("date: 2025-02-03", "date: 2025-02-30"))
    _, status, body = wait_for(url, "The site cannot be built")
    assert status == 500 and "content/posts/setting-a-day-rate.md:3: date:" in body
    post.write_text(post.read_text().replace("date: 2025-02-30", "date: 2025-02-03"))
    _, status, _ = wait_for(url, "Most freelancers choose a day rate")
    assert status == 200


def test_serve_follows_snippets_templates_and_toml(preview) -> None:
    base, sample = preview
    snippet = sample.content / "snippets" / "tax-disclaimer.md"
    snippet.write_text("Ask an accountant, not a blog.\n")
    wait_for(f"{base}/blog/setting-a-day-rate/", "Ask an accountant, not a blog.")
    template = sample.root / "site" / "templates" / "tag.html"
    template.write_text(template.read_text().replace("<h1>Posts about", "<h1>Reading about"))
    wait_for(f"{base}/blog/tag/pricing/", "<h1>Reading about")
    toml = sample.root / "site" / "tenants.toml"
    toml.write_text(toml.read_text().replace('name = "Tallystack"', 'name = "Tallystack Solo"', 1))
    wait_for(f"{base}/", "Tallystack Solo")
    assert get(f"{base}/no-such-page/")[0] == 404


def test_open_page_reloads_itself_when_a_post_is_saved(preview) -> None:
    from tests.helpers.browser import chromium

    base, sample = preview
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}/blog/setting-a-day-rate/")
        page.evaluate("window.__before_edit = true")
        post = sample.content / "posts" / "setting-a-day-rate.md"
        post.write_text(
            post.read_text().replace("Most freelancers pick", "Most freelancers choose")
        )
        page.wait_for_function("!window.__before_edit", timeout=10_000)  # the page reloaded
        page.wait_for_load_state()
        assert "Most freelancers choose a day rate" in page.content()
