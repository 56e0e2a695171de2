"""The blog index shows 10 posts a page, and its edges are right."""

from __future__ import annotations

import datetime as dt

import lxml.html
import pytest

from tests.conftest import Project


def add_posts(project: Project, count: int) -> list[str]:
    """``count`` posts, newest first in the returned list of slugs."""
    start = dt.date(2026, 1, 1)
    slugs = [f"post-{i:02d}" for i in range(count)]
    for i, slug in enumerate(slugs):
        project.post(slug, date=(start + dt.timedelta(days=i)).isoformat())
    return list(reversed(slugs))


def listed(html_path) -> list[str]:
    doc = lxml.html.parse(str(html_path)).getroot()
    return [a.get("href").strip("/").split("/")[-1] for a in doc.cssselect(".post-list h2 a")]


def rel(html_path, name: str) -> str | None:
    links = lxml.html.parse(str(html_path)).getroot().cssselect(f"a[rel={name}]")
    return links[0].get("href") if links else None


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (1, 1), (10, 1), (11, 2), (20, 2), (21, 3)])
def test_pages_at_the_edges(project: Project, count: int, pages: int) -> None:
    newest_first = add_posts(project, count)
    result = project.build()
    assert result.exit_code == 0, result.output
    blog = project.site() / "blog"
    built = sorted(p.name for p in (blog / "page").iterdir()) if (blog / "page").exists() else []
    assert built == [str(n) for n in range(2, pages + 1)]
    assert not (blog / "page" / "1").exists()
    seen = []
    for number in range(1, pages + 1):
        page = blog / "index.html" if number == 1 else blog / "page" / str(number) / "index.html"
        shown = listed(page)
        assert len(shown) == min(10, count - (number - 1) * 10)
        seen += shown
        assert rel(page, "prev") == (
            None if number == 1 else "/blog/" if number == 2 else f"/blog/page/{number - 1}/"
        )
        assert rel(page, "next") == (None if number == pages else f"/blog/page/{number + 1}/")
    assert seen == newest_first
