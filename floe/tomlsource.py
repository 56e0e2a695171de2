"""Reading the TOML files of site/, and finding line numbers in them for errors (tomllib keeps
no positions, so they are found in the text)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from floe.errors import Problem, SourceError
from floe.sourcetext import read_source


def read_toml(path: Path, shown: str) -> tuple[str, dict[str, Any]] | None:
    """The text and data of ``path``, or None when there is no such file. Invalid TOML raises
    SourceError naming ``shown`` and the line (bytes that are not UTF-8 too)."""
    try:
        text = read_source(path, shown)
    except FileNotFoundError:
        return None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = Problem(shown, toml_error_line(exc), message=f"invalid TOML: {exc}")
        raise SourceError([problem]) from None


def locate(text: str, key: str, section: str, name: str | None = None) -> int | None:
    """Best-effort line number of ``key`` (inside ``[section.name…]`` when ``name`` is given).

    Good enough to point a designer at the right line, and ``None`` when the key cannot be
    found (a missing key, say).
    """
    lines = text.splitlines()
    start, end = 0, len(lines)
    table = re.escape(section)
    if name is not None:
        header = re.compile(rf"^\s*\[\[?\s*{table}\.{re.escape(name)}(\.[^\]]*)?\s*\]\]?")
        other = re.compile(rf"^\s*\[\[?\s*{table}\.(?P<name>[^.\]\s]+)")
        found = [i for i, line in enumerate(lines) if header.match(line)]
        if not found:
            return None
        start = found[0]
        for i in range(start + 1, len(lines)):
            match = other.match(lines[i])
            if match and match.group("name") != name:
                end = i
                break
        if key == name:
            return start + 1
    pattern = re.compile(rf"^\s*(\[\[?\s*({table}\.)?)?{re.escape(key)}\b")
    for i in range(start, end):
        if pattern.match(lines[i]) or re.match(
            rf"^\s*\[\[?[^\]]*\.{re.escape(key)}\s*\]", lines[i]
        ):
            return i + 1
    return None


def toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None
