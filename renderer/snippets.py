"""Reusable markdown: a line ``{% snippet "name" %}`` includes content/snippets/name.md.

Snippets may include snippets. Lines inside fenced code blocks are left alone, so a post can
show the syntax itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from floe.errors import Problem, SourceError

SNIPPET_LINE = re.compile(r'^[ \t]*\{%-?\s*snippet\s+"(?P<name>[^"]*)"\s*-?%\}[ \t]*$')
_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})")


@dataclass(frozen=True)
class SnippetSource:
    """A snippet's text and where it lives, for error messages."""

    name: str
    file: str
    text: str
    first_line: int = 1


@dataclass(frozen=True)
class Expanded:
    text: str
    snippets: frozenset[str]


def expand_snippets(
    text: str, file: str, first_line: int, snippets: Mapping[str, SnippetSource]
) -> Expanded:
    """Return ``text`` with every snippet line replaced by the snippet, recursively.

    Raises :class:`SourceError` naming the file and line of each missing snippet or cycle.
    """
    used: set[str] = set()
    problems: list[Problem] = []
    result = _expand(text, file, first_line, snippets, (), used, problems)
    if problems:
        raise SourceError(problems)
    return Expanded(result, frozenset(used))


def _expand(
    text: str,
    file: str,
    first_line: int,
    snippets: Mapping[str, SnippetSource],
    stack: tuple[str, ...],
    used: set[str],
    problems: list[Problem],
) -> str:
    if "{%" not in text:
        return text
    out: list[str] = []
    fence: str | None = None
    for offset, line in enumerate(text.split("\n")):
        opening = _FENCE.match(line)
        if fence is not None:
            if (
                opening
                and opening.group("fence")[0] == fence[0]
                and len(opening.group("fence")) >= len(fence)
                and not line.strip(" `~")
            ):
                fence = None
            out.append(line)
            continue
        if opening:
            fence = opening.group("fence")
            out.append(line)
            continue
        match = SNIPPET_LINE.match(line)
        if not match:
            out.append(line)
            continue
        name = match.group("name")
        line_no = first_line + offset
        snippet = snippets.get(name)
        if snippet is None:
            known = ", ".join(sorted(snippets)) or "none yet"
            problems.append(
                Problem(
                    file,
                    line_no,
                    None,
                    f'snippet "{name}" not found',
                    f"create content/snippets/{name}.md or use one of: {known}",
                )
            )
            out.append("")
            continue
        if name in stack:
            chain = " → ".join((*stack, name))
            problems.append(
                Problem(
                    file,
                    line_no,
                    None,
                    f'snippet "{name}" includes itself ({chain})',
                    "remove one of these includes",
                )
            )
            out.append("")
            continue
        used.add(name)
        out.append(
            _expand(
                snippet.text,
                snippet.file,
                snippet.first_line,
                snippets,
                (*stack, name),
                used,
                problems,
            )
        )
    return "\n".join(out)
