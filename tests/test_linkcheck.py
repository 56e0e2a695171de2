"""The link check reads pages with an HTML parser: markup shown as text is not a link, and a
real broken link in any URL attribute fails the build naming the file and the link."""

from __future__ import annotations

import pytest

from renderer.engine.linkcheck import internal_links, iter_links, srcset_urls
from tests.conftest import Project

CODE_POST = """Link to the prices page with `<a href="/prices">` in your template, or:

```html
<a href="/prices">Prices</a>
<img src=x srcset="/nowhere.png 2x">
<link rel="stylesheet" href="/missing.css">
```

Inline HTML as text: &lt;img src=x&gt; too.
"""


def test_html_shown_in_code_and_escaped_titles_is_not_a_link(project: Project) -> None:
    project.post(
        "showing-html",
        title='"Showing <img src=x> safely"',
        description='"How an <a href=/prices> tag looks"',
        body=CODE_POST,
    )
    result = project.build()
    assert result.exit_code == 0, result.output
    page = (project.site() / "blog/showing-html/index.html").read_text()
    assert "&lt;img src=x&gt;" in page  # the title, escaped, is there


BROKEN = {
    "a": ('<p><a href="/no-such-page/">gone</a></p>', "/no-such-page/"),
    "srcset": (
        '<p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" srcset="/static/img/huge,2x.png 2x" alt=""></p>',
        "/static/img/huge,2x.png",
    ),
    "link": ('<link rel="stylesheet" href="/static/css/missing.css">', "/static/css/missing.css"),
    "relative": ('<p><a href="../nowhere/">up</a></p>', "../nowhere/"),
}


@pytest.mark.parametrize("markup, link", BROKEN.values(), ids=BROKEN.keys())
def test_a_real_broken_link_fails_the_build_naming_file_and_link(
    project: Project, markup: str, link: str
) -> None:
    assert project.build().exit_code == 0
    before = project.snapshot()
    project.post("linking", title="Linking", body=f"Some text.\n\n{markup}\n")
    result = project.build()
    assert result.exit_code == 1, result.output
    line = next(line for line in result.output.splitlines() if "broken link" in line)
    assert "content/posts/linking.md" in line
    assert repr(link) in line
    assert project.snapshot() == before


def test_every_kind_of_url_attribute_is_read() -> None:
    html = b"""<!doctype html><html><head><meta charset="utf-8">
    <title>&lt;a href="/title"&gt;</title>
    <link rel="icon" href="/icon.svg"><style>body { background: url("/bg.png") }</style>
    <meta http-equiv="refresh" content="0; url=/moved/"></head>
    <body><a href="/a/">a</a><img src="/i.png" srcset="/i1.png 1x, /i2.png 2x">
    <picture><source srcset="/p.webp"></picture><video poster="/poster.jpg"></video>
    <form action="/search/"></form><div style="background-image: url(/div.png)"></div>
    <code>&lt;a href="/code/"&gt;</code><!-- <a href="/comment/"> --></body></html>"""
    found = set(iter_links(html))
    assert found == {
        "/icon.svg",
        "/bg.png",
        "/moved/",
        "/a/",
        "/i.png",
        "/i1.png",
        "/i2.png",
        "/p.webp",
        "/poster.jpg",
        "/search/",
        "/div.png",
    }


def test_links_are_decoded_as_utf8_and_entities() -> None:
    html = '<p><a href="/blog/caf\u00e9/?a=1&amp;b=2">x</a></p>'.encode()
    assert internal_links(html, "/", "example.com") == (
        ("/blog/caf\u00e9/?a=1&b=2", "/blog/caf\u00e9/"),
    )
    assert list(iter_links(b"")) == [] and list(iter_links(b"<!-- only -->")) == []


@pytest.mark.parametrize(
    "value, urls",
    [
        ("a.png 1x, b.png 2x", ["a.png", "b.png"]),
        ("a.png,b.png", ["a.png,b.png"]),  # a URL may hold commas: white space ends it
        ("a.png, b,c.png 2x", ["a.png", "b,c.png"]),
        ("a.png 100w (x, y), b.png", ["a.png", "b.png"]),
        ("  ", []),
    ],
)
def test_srcset_candidates_split_as_the_standard_says(value: str, urls: list[str]) -> None:
    assert list(srcset_urls(value)) == urls
