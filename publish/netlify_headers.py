"""The rules of a built site's ``_headers``, and the headers Netlify adds to a file from them:
the repository's one reader of that file.

Each rule is a path pattern on a line of its own (``*`` matches anything, ``:name`` one path
segment) with ``Name: value`` lines indented under it. Every rule whose pattern matches the
path applies; when several name the same header, Netlify joins their values with ", " (which
is why a Cache-Control rule for ``/*`` would spoil the assets' one).
"""

from __future__ import annotations

import re
from pathlib import Path

Rule = tuple[str, list[tuple[str, str]]]


def parse(text: str) -> list[Rule]:
    """Each path pattern with its headers, in order; ValueError names a line it cannot read."""
    rules: list[Rule] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            rules.append((line.strip(), []))
            continue
        name, colon, value = line.strip().partition(":")
        if not colon or not rules or not name.strip():
            raise ValueError(f"_headers:{number}: not a header under a path: {line!r}")
        rules[-1][1].append((name.strip(), value.strip()))
    return rules


def for_path(site: Path, path: str) -> dict[str, str]:
    """The headers Netlify adds to the file it serves at URL ``path`` of the built ``site``."""
    return matching(parse((site / "_headers").read_text(encoding="utf-8")), path)


def matching(rules: list[Rule], path: str) -> dict[str, str]:
    """The headers ``rules`` add to the file served at URL ``path``, joined as Netlify joins
    them (for a host that parses its rules once)."""
    merged: dict[str, list[str]] = {}
    for pattern, headers in rules:
        if _pattern(pattern).fullmatch(path):
            for name, value in headers:
                merged.setdefault(name, []).append(value)
    return {name: ", ".join(values) for name, values in merged.items()}


def _pattern(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*|:\w+)", pattern)
    return re.compile(
        "".join(".*" if p == "*" else "[^/]+" if p.startswith(":") else re.escape(p) for p in parts)
    )
