"""The one place that uses Flask-FlatPages beyond its documented surface.

Flask-FlatPages finds and caches the ``.md`` files of ``content/``. Its public surface gives a
page's parsed ``meta`` and its ``body`` with the front matter's lines dropped, so it cannot say
on which line a field or the body starts, nor report a file that is not UTF-8 as a problem of
that file (it raises while reading). Both are what writers' error messages need, so
:class:`ContentPages` overrides FlatPages' ``_parse`` (called once per file with its text) and
makes pages with :class:`SourcePage`, which keeps the front matter's text and the body's first
line. FlatPages' settings are given to it directly (``config``, ``root``), not through a Flask
app that would exist only to carry them.

``tests/test_flatpages_adapter.py`` fails loudly when Flask-FlatPages changes what this relies
on: the names and signatures of ``FlatPages._parse``, ``_load_file`` and ``_pages``, and
``Page.__init__``.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from flask_flatpages import FlatPages, Page

from floe.errors import Problem
from floe.sourcetext import not_utf8, universal_newlines
from renderer.content.frontmatter import FrontMatter, split_front_matter

#: Flask-FlatPages reads files in this encoding: one character per byte, so reading never
#: fails, and :class:`ContentPages` decodes the bytes as UTF-8 itself, to report a file
#: that is not UTF-8 as a problem of that file instead of a traceback.
READ_ENCODING = "latin-1"


class SourcePage(Page):
    """A FlatPages page that also knows where its body starts and what went wrong reading it."""

    def __init__(
        self,
        path: str,
        meta: str,
        body: str,
        html_renderer,
        folder: str,
        *,
        body_line: int,
        has_front_matter: bool,
        problem: str | None,
        not_utf8: Problem | None = None,
    ):
        super().__init__(path, meta, body, html_renderer, folder)
        self.body_line = body_line
        self.has_front_matter = has_front_matter
        self.split_problem = problem
        #: The front matter's text, as it is in the file ("" when there is none).
        self.front_matter = meta
        #: Set when the file is not UTF-8 (its ``file`` is the path FlatPages names it by).
        self.not_utf8 = not_utf8


class ContentPages(FlatPages):
    """FlatPages over ``content/`` reading Jekyll-style front matter, configured directly."""

    def __init__(self, content_dir: Path, **settings: Any):
        super().__init__()
        self.content_dir = content_dir
        #: FlatPages' settings (``FLATPAGES_<KEY>`` without the prefix, in lower case).
        self.settings: dict[str, Any] = {
            **dict(FlatPages.default_config),
            "root": str(content_dir),
            "extension": ".md",
            "auto_reload": False,
            "encoding": READ_ENCODING,
            **settings,
        }
        self.html_renderer = self._smart_html_renderer(self.settings["html_renderer"])

    def config(self, key: str) -> Any:
        """A setting, from :attr:`settings` rather than from a Flask app's config."""
        return self.settings[key]

    @property
    def root(self) -> str:
        return str(self.content_dir)

    def _parse(self, content: str, path: str, rel_path: str) -> SourcePage:
        """Called by Flask-FlatPages with the file read as :data:`READ_ENCODING`."""
        try:
            text = content.encode(READ_ENCODING).decode("utf-8")
        except UnicodeDecodeError:
            # The exact byte offset is in the file as it is, before newlines were translated.
            with open(os.path.join(self.root, path + self.config("extension")), "rb") as file:
                return self.page_from_bytes(file.read(), path, rel_path)
        return self.page_from_text(text, path, rel_path)

    def page_from_bytes(self, data: bytes, path: str, rel_path: str) -> SourcePage:
        """The page of one file's bytes as they are on disk."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return self.unreadable_page(path, rel_path, not_utf8(data, path))
        return self.page_from_text(universal_newlines(text), path, rel_path)

    def unreadable_page(self, path: str, rel_path: str, problem: Problem | None) -> SourcePage:
        """An empty page standing for a file that is not UTF-8."""
        return SourcePage(
            path,
            "",
            "",
            self.html_renderer,
            rel_path,
            body_line=1,
            has_front_matter=False,
            problem=None,
            not_utf8=problem,
        )

    def page_from_text(self, text: str, path: str, rel_path: str) -> SourcePage:
        """The page of one file's ``text`` (decoded, universal newlines)."""
        meta, body, body_line, problem = split_front_matter(text)
        return SourcePage(
            path,
            meta or "",
            body,
            self.html_renderer,
            rel_path,
            body_line=body_line,
            has_front_matter=meta is not None,
            problem=problem,
        )


class ContentReader:
    """Reads ``content/`` through Flask-FlatPages, reusing unchanged files between reads."""

    def __init__(
        self, content_dir: Path, front_matter: MutableMapping[str, FrontMatter] | None = None
    ):
        self.content_dir = content_dir
        #: Parsed front matter by its text, kept between builds by the build cache.
        self.front_matter: MutableMapping[str, FrontMatter] = (
            {} if front_matter is None else front_matter
        )
        self.pages = ContentPages(content_dir)

    def read(self) -> dict[str, SourcePage]:
        """All ``.md`` files by path without extension (``posts/x``, ``pages/t/home`` …)."""
        self.pages.reload()
        return {page.path: page for page in self.pages}

    def parse(self, path: str, data: bytes) -> SourcePage:
        """The page of one file whose bytes the caller read, parsed as :meth:`read` does."""
        folder = os.path.dirname(path).replace("/", os.sep)
        return self.pages.page_from_bytes(data, path, folder)
