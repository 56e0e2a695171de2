"""Field checks shared by the validators of what writers and designers edit: front matter,
site/tenants.toml, site/experiments.toml and site/plans.toml.

:class:`Fields` reads one table's fields (a TOML table, a post's front matter) and records each
mistake as a :class:`~floe.errors.Problem` naming the file, the line, the field and what to do,
so that one run reports every mistake together.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from floe.errors import Problem
from floe.outputpath import HINT as PATH_HINT
from floe.outputpath import output_path_problem


class Fields:
    """The fields of one table (``data``), each mistake appended to ``problems``.

    ``table`` names the table in problems (``tenants.agencies``: its fields are then
    ``tenants.agencies.domain``; empty for front matter, whose fields are named alone).
    ``line(field)`` is the line of a field (None when it cannot be found); ``table_line`` where
    the table starts, for fields that are missing. Each check returns the value when it is good,
    else None (or the default when the field is absent).
    """

    missing_message = "required key is missing"

    def __init__(
        self,
        data: Mapping[Any, Any],
        file: str,
        problems: list[Problem],
        *,
        table: str = "",
        line: Callable[[str], int | None] = lambda field: None,
        table_line: int | None = None,
    ):
        self.data, self.file, self.problems, self.table = data, file, problems, table
        self.line, self.table_line = line, table_line
        self._start = len(problems)

    @property
    def ok(self) -> bool:
        """Whether no problem was found since these fields were read (in nested ones too)."""
        return len(self.problems) == self._start

    def name(self, field: str) -> str:
        return ".".join(part for part in (self.table, field) if part)

    def problem(self, field: str, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.file, self.line(field), self.name(field), message, hint))

    def nested(self, field: str, data: Mapping[Any, Any]) -> Fields:
        """The fields of the table in ``field`` (``theme``, ``nav[1]``), named and found
        through these."""
        return Fields(
            data,
            self.file,
            self.problems,
            table=self.name(field),
            line=lambda name: self.line(f"{field}.{name}"),
            table_line=self.line(field),
        )

    # -- keys ---------------------------------------------------------------------------------

    def missing_hint(self, field: str, example: str = "…") -> str:
        return f"add {field} = {example} to [{self.table}]"

    def missing(self, field: str, hint: str | None = None) -> None:
        """Report ``field`` as missing (or empty), on its line or where the table starts."""
        line = (self.line(field) if field in self.data else None) or self.table_line
        hint = hint or self.missing_hint(field)
        self.problems.append(Problem(self.file, line, self.name(field), self.missing_message, hint))

    def required(self, fields: Iterable[str], hint: str | None = None) -> None:
        for field in fields:
            if field not in self.data:
                self.missing(field, hint)

    def unknown(
        self, known: Iterable[str], message: str = "unknown key", hint: str = "known keys: "
    ) -> None:
        known = tuple(known)
        for field in sorted(set(self.data) - set(known), key=str):
            self.problem(str(field), message, hint + ", ".join(known))

    # -- values -------------------------------------------------------------------------------

    def string(
        self, field: str, message: str = "must be a non-empty string", *, required: bool = False
    ) -> str | None:
        """A non-blank string (absent: None, reported only when ``required``)."""
        value = self.data.get(field)
        if field not in self.data and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(field, message)
            return None
        return value

    def matches(
        self,
        field: str,
        pattern: re.Pattern[str],
        message: str,
        hint: str | None = None,
        *,
        required: bool = False,
    ) -> str | None:
        """A string matching ``pattern``; else ``'value' message`` (``is not a colour``)."""
        value = self.data.get(field)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not pattern.match(value):
            self.problem(field, f"{value!r} {message}", hint)
            return None
        return value

    def choice(
        self, field: str, choices: Iterable[str], what: str, hint: str, default: Any = None
    ) -> str | None:
        """One of ``choices`` (``'on' is not a status``)."""
        value = self.data.get(field, default)
        if value is None:
            return None
        if value not in tuple(choices):
            self.problem(field, f"{value!r} is not a {what}", hint)
            return None
        return value

    def whole(
        self, field: str, message: str, hint: str | None = None, minimum: int = 1
    ) -> int | None:
        """A whole number of at least ``minimum`` (absent: None)."""
        value = self.data.get(field)
        if field not in self.data:
            return None
        if type(value) is not int or value < minimum:
            self.problem(field, message, hint)
            return None
        return value

    def number(
        self,
        field: str,
        low: float,
        high: float,
        message: str,
        hint: str | None = None,
        default: float | None = None,
    ) -> float | None:
        """A number from ``low`` to ``high`` (``5 is not a share between 0 and 1``)."""
        value = self.data.get(field, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            self.problem(field, f"{value!r} {message}", hint)
            return None
        return float(value)

    def strings(
        self,
        field: str,
        message: str = "must be a list of text",
        hint: str | None = None,
        *,
        required: bool = False,
    ) -> tuple[str, ...] | None:
        """A list of non-blank strings (absent: empty, reported when ``required``; a required
        list must not be empty either)."""
        value = self.data.get(field)
        if value is None and not required:
            return ()
        if (
            not isinstance(value, list)
            or (required and not value)
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            self.problem(field, message, hint)
            return None
        return tuple(value)

    def address(self, field: str, value: str, shown: str | None = None, hint: str = PATH_HINT):
        """Whether ``value`` (of ``field``) is safe to become a path under the output folder."""
        reason = output_path_problem(value)
        if reason is not None:
            self.problem(field, f"{shown or repr(value)} {reason}", hint)
        return reason is None

    # -- front matter's values (YAML: an empty field is as good as none) ----------------------

    def text(self, field: str, *, required: bool = False, default: str = "") -> str:
        """Text, numbers too (``title: 2026``), stripped."""
        value = self.data.get(field)
        if value is None or value == "":
            if required:
                self.missing(field)
            return default
        if (
            not isinstance(value, str | int | float)
            or isinstance(value, bool)
            or not str(value).strip()
        ):
            self.problem(field, "must be text")
            return default
        return str(value).strip()

    def date(self, field: str, *, required: bool = False) -> dt.date | None:
        """A date: YAML's, or text written YYYY-MM-DD."""
        value = self.data.get(field)
        if value is None or value == "":
            if required:
                self.missing(field, self.missing_hint(field, "YYYY-MM-DD"))
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.problem(
                field, f"{value!r} is not a valid date", "write it as YYYY-MM-DD, e.g. 2026-03-14"
            )
            return None

    def flag(self, field: str, default: bool = False) -> bool:
        value = self.data.get(field, default)
        if not isinstance(value, bool):
            self.problem(field, f"{value!r} is not true or false")
            return default
        return value
