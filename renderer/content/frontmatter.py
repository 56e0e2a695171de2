"""Front matter whose lines are known: each file split into YAML front matter (between two
``---`` lines) and markdown body, remembering the line each starts on, and the YAML parsed
with the line of every field, so that every error can name it.

Flask-FlatPages finds and caches the files (see :mod:`renderer.content.flatpages_adapter`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from floe.errors import Problem


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
