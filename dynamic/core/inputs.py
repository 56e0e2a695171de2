"""What a request may carry: checked at the edge, before a handler or the database sees it.

No input answers 500, and SQLite and PostgreSQL answer alike:

- No NUL character in the path, the query string or a form, refused before any handler
  (:func:`refuse_nul`). PostgreSQL refuses NUL in text (SQLite stores it), no URL or form field
  of this service has a use for one, and a browser cannot type one; Django's forms refuse them
  the same way (``ProhibitNullCharactersValidator``).
- Whole numbers of the query string in the database's integer range (:func:`int_arg`,
  :func:`page_arg`), strings bounded in length (:func:`text_arg`): a value out of range is a
  400 (a page number out of range, a 404), never an overflow in the driver.
- Values that go into a column fit it (:func:`check_storable`): the type, the length of a
  ``String(n)`` and the range of an ``Integer``, which PostgreSQL enforces and SQLite does not.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, jsonify, request
from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Table
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapper
from werkzeug.exceptions import HTTPException

from dynamic.core.look import render

#: PostgreSQL's ``integer``: every id and amount column of the service.
INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1
#: The longest query-string value a route reads unless it says otherwise.
TEXT_MAX = 255
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")


class InputError(HTTPException):
    """A request the service cannot take as it is: answered 400 (or 404) with a page that says
    which field and why, in the tenant's theme, or as JSON to a JSON client."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = status


class Unstorable(ValueError):
    """A value that does not fit the column it is for."""


def init_app(app: Flask) -> None:
    """The NUL guard (after the tenant is resolved, before CSRF and every handler)."""
    app.before_request(refuse_nul)
    app.register_error_handler(InputError, _answer)


def refuse_nul() -> None:
    """Refuse a NUL in the path (404: no page has one), a query-string or a form field (400)."""
    if "\x00" in request.path:
        raise InputError("There is no page at this address.", 404)
    sources = [("query string", request.args)]
    if request.mimetype in _FORM_TYPES:
        sources.append(("form", request.form))
    for where, values in sources:
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise InputError(f"The {where} field {_shown(key)} holds a NUL character.")


def text_arg(name: str, default: str = "", *, max_length: int = TEXT_MAX) -> str:
    """The query-string value ``name``: no NUL, at most ``max_length`` characters (else 400)."""
    value = request.args.get(name, default)
    problem = text_problem(value, max_length)
    if problem:
        raise InputError(f"The query-string field {_shown(name)} {problem}.")
    return value


def int_arg(
    name: str, default: int, *, minimum: int = 0, maximum: int = INT_MAX, status: int = 400
) -> int:
    """The query-string whole number ``name`` (``default`` when absent or empty), between
    ``minimum`` and ``maximum``; anything else answers ``status``."""
    raw = request.args.get(name, "")
    if raw == "":
        return default
    number = parse_int(raw, minimum, maximum)
    if number is None:
        raise InputError(
            f"The query-string field {_shown(name)} must be a whole number from {minimum} "
            f"to {maximum}.",
            status,
        )
    return number


def page_arg(name: str = "page") -> int:
    """The page number of a list: from 1; any other value is a page that does not exist."""
    return int_arg(name, 1, minimum=1, status=404)


def parse_int(text: object, minimum: int = 0, maximum: int = INT_MAX) -> int | None:
    """``text`` as a whole number between ``minimum`` and ``maximum`` (ASCII digits only,
    unlike ``str.isdigit``), or None."""
    if not isinstance(text, str) or not _WHOLE_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def text_problem(value: str, max_length: int | None) -> str | None:
    """What keeps ``value`` out of a text column of ``max_length`` characters (None: nothing)."""
    if "\x00" in value:
        return "holds a NUL character"
    if max_length is not None and len(value) > max_length:
        return f"is longer than {max_length} characters"
    return None


def check_storable(model: type, values: Mapping[str, Any]) -> None:
    """Raise :class:`Unstorable` unless every value named after a column of ``model`` fits it
    (names that are not columns are not checked)."""
    mapper: Mapper[Any] = sa_inspect(model)
    table = mapper.local_table
    assert isinstance(table, Table)  # (every model of ours maps one table)
    for name, value in values.items():
        column = table.columns.get(name)
        if column is None:
            continue
        problem = _misfit(column, value)
        if problem:
            raise Unstorable(f"{table.name}.{name} {problem}: {_shown(value)}")


def _misfit(column: Any, value: Any) -> str | None:
    kind = column.type
    if value is None:
        return None if column.nullable and not column.primary_key else "is missing"
    if isinstance(kind, String):  # Text too
        if not isinstance(value, str):
            return f"is not text ({type(value).__name__})"
        return text_problem(value, kind.length)
    if isinstance(kind, Boolean):
        return None if isinstance(value, bool) else "is not true or false"
    if isinstance(kind, Integer):
        top = BIGINT_MAX if isinstance(kind, BigInteger) else INT_MAX
        if type(value) is not int:
            return f"is not a whole number ({type(value).__name__})"
        return None if -top - 1 <= value <= top else f"is out of range (up to {top})"
    if isinstance(kind, DateTime) and not isinstance(value, dt.datetime):
        return f"is not a time ({type(value).__name__})"
    return None


def _shown(value: Any) -> str:
    """A value for a message: its start, with NULs and other controls visible."""
    text = repr(value)
    return text if len(text) <= 66 else text[:60] + "…" + text[-4:]


def _answer(error: InputError) -> Response | tuple[Any, int]:
    status = error.code or 400
    message = error.description or "This request holds something the service cannot read."
    if _wants_json():
        return jsonify(error=message), status
    if getattr(g, "tenant", None) is None:  # an unknown host: no theme to show
        return Response(f"{message}\n", status=status, mimetype="text/plain")
    heading = "Not found" if status == 404 else "Cannot read this request"
    return render("core/message.html", heading, status, heading=heading, message=message)


def _wants_json() -> bool:
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"
