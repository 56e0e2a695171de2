"""Reading content files: Flask-FlatPages with front matter whose lines are known.

Flask-FlatPages finds and caches the files; this module splits each into YAML front matter
(between two ``---`` lines) and markdown body, remembering the line each starts on so that
every error can name it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml
from flask_flatpages import FlatPages, Page

from floe.errors import Problem
from floe.sourcetext import not_utf8, universal_newlines

#: Flask-FlatPages reads files in this encoding: one character per byte, so reading never
#: fails, and :meth:`ContentPages._parse` decodes the bytes as UTF-8 itself, to report a file
#: that is not UTF-8 as a problem of that file instead of a traceback.
READ_ENCODING = "latin-1"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (libyaml when available) that leaves an impossible date as text.

    PyYAML raises a bare ValueError for ``2026-13-45``; kept as text, the field check can
    name the field and its line instead.
    """


def _lenient_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode):
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _lenient_timestamp)


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
        #: Set when the file is not UTF-8 (its ``file`` is the path FlatPages names it by).
        self.not_utf8 = not_utf8


class ContentPages(FlatPages):
    """FlatPages over ``content/`` reading Jekyll-style front matter."""

    def config(self, key: str):
        """FlatPages asks its settings once per file; they do not change during a read."""
        memo = self.__dict__.setdefault("_config_memo", {})
        if key not in memo:
            memo[key] = super().config(key)
        return memo[key]

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
            self._html_renderer(),
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
            self._html_renderer(),
            rel_path,
            body_line=body_line,
            has_front_matter=meta is not None,
            problem=problem,
        )

    def _html_renderer(self):
        renderer = self.__dict__.get("_renderer")
        if renderer is None:  # the same for every file
            renderer = self._renderer = self._smart_html_renderer(self.config("html_renderer"))
        return renderer


def split_front_matter(text: str) -> tuple[str | None, str, int, str | None]:
    """Return ``(meta, body, body_line, problem)``; meta is None when there is no front matter."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return None, text, 1, None
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2, None
    return "", "", len(lines) + 1, "front matter opened by '---' on line 1 is never closed"


@dataclass
class FrontMatter:
    """Parsed front matter, with the file line of each top-level key."""

    data: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def parse_front_matter(
    text: str, file: str, first_line: int = 2
) -> tuple[FrontMatter, list[Problem]]:
    """Parse YAML ``text`` that starts on ``first_line`` of ``file``."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return FrontMatter(), []
        if not isinstance(node, yaml.MappingNode):
            return FrontMatter(), [
                Problem(
                    file,
                    first_line + node.start_mark.line,
                    message="front matter must be 'key: value' lines",
                    hint="see content/README.md",
                )
            ]
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        # The context mark is where the bad construct starts (an unclosed quote, say).
        mark = exc.context_mark or exc.problem_mark
        line = first_line + mark.line if mark else first_line
        reason = ", ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        return FrontMatter(), [
            Problem(
                file,
                line,
                message=f"invalid YAML in front matter: {reason}",
                hint="check quotes, colons and indentation",
            )
        ]
    except yaml.YAMLError as exc:
        return FrontMatter(), [Problem(file, first_line, message=f"invalid YAML: {exc}")]
    finally:
        loader.dispose()

    lines: dict[str, int] = {}
    problems: list[Problem] = []
    for key_node, _ in node.value:
        key = str(key_node.value)
        line = first_line + key_node.start_mark.line
        if key in lines:
            problems.append(
                Problem(file, line, key, f"set twice (first on line {lines[key]})", "keep one")
            )
        lines.setdefault(key, line)
    return FrontMatter(data, lines), problems
