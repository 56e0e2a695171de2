"""Fuzzing the dynamic service's routes (tests/test_fuzz_routes.py): the routes read from the
app's URL map, the query-string and form names each view reads (learnt by watching it), the
hostile values, visitors of each role, and a guard that sees any change to the data.

Nothing here names a route: a route added to the service is fuzzed as it is registered.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_from_bytes, urlencode

from flask import Flask, has_request_context, request
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict

from dynamic.core.db import db
from tests.conftest import TENANT_HOST
from tests.helpers.accounts import PASSWORD, TOKEN, login, signup

HOST = {"Host": TENANT_HOST}
ROLES = ("anonymous", "user", "admin")
#: A placeholder of a rule: <converter(arguments):name>.
_PLACEHOLDER = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")

# --- what each view reads ---------------------------------------------------------------------

#: (endpoint, method) -> the names the view (its forms, its guards) looked up in the query
#: string or the form: Werkzeug builds both with the request's ``parameter_storage_class``.
_READ: defaultdict[tuple[str, str], set[str]] = defaultdict(set)


class _Watched(ImmutableMultiDict):
    """Request args and form that note every name looked up in them."""

    def _note(self, key: Any) -> None:
        if isinstance(key, str) and has_request_context() and request.endpoint:
            _READ[(request.endpoint, request.method)].add(key)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key: str, type: Any = None) -> list[Any]:
        self._note(key)
        return super().getlist(key, type)


def watch_reads(app: Flask) -> None:
    """Make ``app`` note the names its views read from the query string and forms."""

    class WatchedRequest(app.request_class):
        parameter_storage_class = _Watched

    app.request_class = WatchedRequest


def forget_reads() -> None:
    _READ.clear()


def names_read(endpoint: str, method: str) -> list[str]:
    return sorted(_READ[(endpoint, method)])


# --- the routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One method of one rule of the URL map."""

    rule: str
    endpoint: str
    method: str
    #: (name, converter, converter arguments) of each placeholder, in order.
    placeholders: tuple[tuple[str, str, str], ...]

    def path(self, values: dict[str, bytes]) -> str:
        """The rule's path with each placeholder replaced by its value, percent-encoded (a
        ``path`` converter keeps its slashes)."""

        def fill(match: re.Match) -> str:
            safe = "/" if match["converter"] == "path" else ""
            return quote_from_bytes(values[match["name"]], safe=safe)

        return _PLACEHOLDER.sub(fill, self.rule)


def targets(app: Flask) -> list[Target]:
    """Every rule and method of ``app`` (HEAD and OPTIONS are Werkzeug's, not the views')."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        placeholders = tuple(
            (m["name"], m["converter"] or "default", m["args"] or "")
            for m in _PLACEHOLDER.finditer(rule.rule)
        )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append(Target(rule.rule, rule.endpoint, method, placeholders))
    return found


def plain_value(converter: str) -> bytes:
    """A harmless value of a placeholder: what a visitor following a link would send."""
    return b"1" if converter in ("int", "float") else b"fuzz"


# --- hostile values ------------------------------------------------------------------------------

#: The values known to have broken the service, and their kin.
NASTY: list[bytes] = [
    b"\x00",
    b"a\x00b",
    b"%00",
    b"99999999999999999999",
    str(2**31).encode(),
    str(2**63).encode(),
    b"-1",
    b"0",
    b"1",
    b"2",
    b"1e309",
    b"x" * 300,
    b"y" * 5000,
    "\u0661\u0662".encode(),  # Arabic-Indic digits: str.isdigit() says yes
    "\u00b2".encode(),  # superscript two: isdigit(), but int() refuses it
    b"../../../etc/passwd",
    b"\xff\xfe\xfd",  # not UTF-8
    b"<script>alert(1)</script>",
    b"ada@example.com",
    b"ada@example.com\x00.evil",
    b"2026-01-01",
    b"9999-12-31",
    b"0001-01-01",
]


#: What broke the service before: tried in every field and placeholder of every route.
BREAKERS: list[bytes] = [b"\x00", b"99999999999999999999", b"x" * 5000]


def hostile_bytes() -> st.SearchStrategy[bytes]:
    """Random bytes, huge numbers, NULs and over-long strings, the known nasty ones often."""
    return st.one_of(
        st.sampled_from(NASTY),
        st.sampled_from(NASTY),
        st.binary(max_size=40),
        st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: str(n).encode()),
        st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.integers(min_value=256, max_value=3000).map(lambda n: b"z" * n),
    )


def path_value(converter: str) -> st.SearchStrategy[bytes]:
    if converter == "int":
        return st.one_of(
            st.integers(min_value=0, max_value=4), st.integers(min_value=0, max_value=2**70)
        ).map(lambda n: str(n).encode())
    return hostile_bytes().filter(lambda b: b not in (b"", b".", b".."))


def encode_pairs(pairs: Iterable[tuple[str, bytes]]) -> str:
    """A query string or form body of ``pairs``, any bytes percent-encoded as they are."""
    return urlencode([(name.encode(), value) for name, value in pairs])


# --- visitors -----------------------------------------------------------------------------------


@dataclass
class Visitor:
    """A role's browser, frozen: every request carries the same session cookie (Set-Cookie is
    ignored), so the CSRF token stays valid and a fuzzed logout does not log it out for good."""

    role: str
    cookie: str
    token: str


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session", domain=TENANT_HOST)
    assert cookie is not None, "the service set no session cookie"
    return cookie.value


def _token(client, path: str) -> str:
    match = TOKEN.search(client.get(path, headers=HOST).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def visitors(app: Flask) -> dict[str, Visitor]:
    """An anonymous visitor, a user and an admin, each with a session and its CSRF token."""
    from dynamic.accounts.models import User

    found = {}
    anonymous = app.test_client()
    token = _token(anonymous, "/app/login")
    found["anonymous"] = Visitor("anonymous", _session_cookie(anonymous), token)
    for role, email in (("user", "ada@example.com"), ("admin", "root@example.com")):
        client = app.test_client()
        assert signup(client, email=email).status_code == 302
        if role == "admin":
            with app.app_context():
                User.find(email).is_admin = True
                db.session.commit()
        client = app.test_client()
        assert login(client, email=email, password=PASSWORD).status_code == 302
        token = _token(client, "/app/account")
        found[role] = Visitor(role, _session_cookie(client), token)
    return found


# --- the data ------------------------------------------------------------------------------------


@dataclass
class DataGuard:
    """Every row of every table: compare after a request, put back when a request changed it."""

    app: Flask
    baseline: dict[str, list[tuple]] = field(default_factory=dict, repr=False)
    _rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def tables(self) -> Iterator[Any]:
        yield from db.metadata.sorted_tables

    def snapshot(self) -> dict[str, list[tuple]]:
        with self.app.app_context():
            return {
                table.name: sorted(
                    (tuple(map(repr, row)) for row in db.session.execute(table.select())),
                )
                for table in self.tables()
            }

    def keep(self) -> None:
        """The data as it is now is the baseline every request starts from."""
        with self.app.app_context():
            self._rows = {
                table.name: [dict(row._mapping) for row in db.session.execute(table.select())]
                for table in self.tables()
            }
        self.baseline = self.snapshot()

    def restore(self) -> None:
        with self.app.app_context():
            for table in reversed(list(self.tables())):
                db.session.execute(table.delete())
            for table in self.tables():
                if self._rows[table.name]:
                    db.session.execute(table.insert(), self._rows[table.name])
            db.session.commit()
        assert self.snapshot() == self.baseline

    def changes(self) -> dict[str, tuple[list[tuple], list[tuple]]]:
        """The tables whose rows differ from the baseline: (rows gone, rows new)."""
        now = self.snapshot()
        return {
            name: (
                [r for r in self.baseline[name] if r not in now[name]],
                [r for r in now[name] if r not in self.baseline[name]],
            )
            for name in now
            if now[name] != self.baseline.get(name)
        }
