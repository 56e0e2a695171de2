"""The one adapter that reaches past Flask-FlatPages' public surface fails loudly here when
Flask-FlatPages changes; no other module of the renderer reaches past a library's surface."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import flask_flatpages
from flask_flatpages import FlatPages, Page

from renderer.content.flatpages_adapter import READ_ENCODING, ContentPages, ContentReader

REPO = Path(__file__).resolve().parents[1]
ADAPTER = "renderer/content/flatpages_adapter.py"


def test_flatpages_still_parses_each_file_through_parse_with_its_text() -> None:
    """What the adapter overrides and calls: if one of these fails, read Flask-FlatPages'
    new source and change renderer/content/flatpages_adapter.py (or drop the override)."""
    assert list(inspect.signature(FlatPages._parse).parameters) == [
        "self",
        "content",
        "path",
        "rel_path",
    ], f"Flask-FlatPages {flask_flatpages.__version__}: FlatPages._parse changed"
    load = inspect.getsource(FlatPages._load_file)
    assert "self._parse(content, path, rel_path)" in load, "FlatPages no longer calls _parse"
    assert 'self.config("encoding")' in load, "FlatPages no longer reads in its encoding"
    assert callable(FlatPages._smart_html_renderer)
    assert list(inspect.signature(Page.__init__).parameters) == [
        "self",
        "path",
        "meta",
        "body",
        "html_renderer",
        "folder",
    ], "flask_flatpages.Page's constructor changed"
    settings = dict(FlatPages.default_config)
    assert {"root", "extension", "encoding", "auto_reload", "html_renderer"} <= set(settings)


def test_content_pages_read_files_without_a_flask_app(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "a.md").write_text(
        "---\ntitle: A\ndate: 2026-01-02\n---\n\nBody of a, café.\n", encoding="utf-8"
    )
    (tmp_path / "posts" / "b.md").write_bytes(b"---\ntitle: B\n---\nnot UTF-8: \xe9\n")
    (tmp_path / "posts" / "ignored.txt").write_text("not content")

    pages = {page.path: page for page in ContentPages(tmp_path)}  # no app context here

    assert sorted(pages) == ["posts/a", "posts/b"]
    a = pages["posts/a"]
    assert a.front_matter == "title: A\ndate: 2026-01-02"
    assert a.body == "\nBody of a, café.\n" and a.body_line == 5
    assert a.has_front_matter and a.not_utf8 is None and a.folder == "posts"
    b = pages["posts/b"]
    assert b.not_utf8 is not None and b.body == "" and b.front_matter == ""
    assert READ_ENCODING == "latin-1"  # one character per byte: reading never fails


def test_the_reader_reads_again_and_parses_bytes_as_it_reads_files(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\ntitle: A\n---\nfirst\n")
    reader = ContentReader(tmp_path)
    assert reader.read()["a"].body == "first\n"
    (tmp_path / "a.md").write_text("---\ntitle: A\n---\nsecond\n")
    assert reader.read()["a"].body.startswith("second")
    parsed = reader.parse("a", (tmp_path / "a.md").read_bytes())
    assert (parsed.front_matter, parsed.body, parsed.body_line) == ("title: A", "second\n", 4)


#: A library's private attribute: called on one of its objects, or overridden (a method).
PRIVATE_USE = re.compile(
    r"\b(?:super\(\)|Freezer|FlatPages|Page|HtmlFormatter|Formatter|Flask)\._[a-z]\w*"
    r"|^\s+def _(?:build_one|parse|create_stylesheet|load_file|generate_all_urls|smart_html_renderer)\b"
    r"|\.(?:_meta|_build_one|_create_stylesheet|_smart_html_renderer|_load_file|_pages)\b"
)


def test_no_other_module_reaches_past_a_library_surface() -> None:
    """Frozen-Flask, Flask-FlatPages, Pygments and Flask are used through their public
    surface everywhere but the adapter."""
    found = []
    for package in ("renderer", "floe", "dynamic", "publish"):
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel == ADAPTER:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if PRIVATE_USE.search(line):
                    found.append(f"{rel}:{number}: {line.strip()}")
    assert found == []
