"""Reusable markdown: a line ``{% snippet "name" %}`` includes content/snippets/name.md.

Snippets may include snippets. Lines inside fenced code blocks are left alone, so a post can
show the syntax itself. Expansion is bounded: snippets nest at most :data:`MAX_DEPTH` deep,
and one post's or page's expansion reads at most :data:`MAX_EXPANDED` characters of snippets,
so a fan-out of snippets that include many others fails fast instead of building a huge page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from floe.errors import Problem, SourceError

SNIPPET_LINE = re.compile(r'^[ \t]*\{%-?\s*snippet\s+"(?P<name>[^"]*)"\s*-?%\}[ \t]*$')
_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})")

#: How many snippets deep an include may go (a post including a includes b … : a is 1).
MAX_DEPTH = 8
#: How many characters of snippet text expanding one document may go through (about 1 MB).
MAX_EXPANDED = 1_000_000


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
    text: str,
    file: str,
    first_line: int,
    snippets: Mapping[str, SnippetSource],
    *,
    max_depth: int = MAX_DEPTH,
    max_chars: int = MAX_EXPANDED,
) -> Expanded:
    """Return ``text`` with every snippet line replaced by the snippet, recursively.

    Raises :class:`SourceError` naming the file and line of each missing snippet or cycle, and
    the chain of includes that goes deeper than ``max_depth`` or makes the expansion read more
    than ``max_chars`` characters.
    """
    used: set[str] = set()
    problems: list[Problem] = []
    budget = _Budget(max_depth, max_chars, file=file, line=first_line)
    try:
        result = _expand(text, file, first_line, snippets, (), used, problems, budget)
    except _Exceeded as exc:
        problems.append(exc.problem)
    if problems:
        raise SourceError(problems)
    return Expanded(result, frozenset(used))


@dataclass
class _Budget:
    """What one document's expansion may still do, and where its current chain started."""

    max_depth: int
    max_chars: int
    #: Characters still allowed: each snippet expanded counts whole, its include lines too, so
    #: the work is bounded even when snippets hold nothing but includes.
    chars: int = 0
    #: The document's file and the line of the include the current chain started from.
    file: str = ""
    line: int = 0

    def __post_init__(self) -> None:
        self.chars = self.max_chars

    def problem(self, stack: tuple[str, ...], message: str, hint: str) -> Problem:
        chain = " → ".join((f"{self.file}:{self.line}", *stack))
        return Problem(self.file, self.line, None, f"{message} ({chain})", hint)


class _Exceeded(Exception):
    """Unwinds the whole expansion: past its budget, the rest is not worth reading."""

    def __init__(self, problem: Problem):
        self.problem = problem


def _expand(
    text: str,
    file: str,
    first_line: int,
    snippets: Mapping[str, SnippetSource],
    stack: tuple[str, ...],
    used: set[str],
    problems: list[Problem],
    budget: _Budget,
) -> str:
    if stack:  # the document's own text is not the snippets' doing
        budget.chars -= len(text) + 1
    if budget.chars < 0:
        raise _Exceeded(
            budget.problem(
                stack,
                f"expanding snippets goes past {budget.max_chars:,} characters",
                "include fewer or smaller snippets: each include copies the snippet again",
            )
        )
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
        if not stack:
            budget.file, budget.line = file, line_no
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
        if len(stack) >= budget.max_depth:
            raise _Exceeded(
                budget.problem(
                    (*stack, name),
                    f"snippets nested more than {budget.max_depth} deep",
                    "include the innermost snippets' text directly, or nest fewer",
                )
            )
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
                budget,
            )
        )
    return "\n".join(out)
