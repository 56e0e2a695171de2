"""The shared field checks (floe/fields.py): each mistake is one problem naming the file, the
line and the field, and saying what to do."""

from __future__ import annotations

import datetime as dt
import re

from floe.errors import Problem
from floe.fields import Fields

LINES = {"domain": 3, "theme": 7, "theme.primary": 8}


def fields(data: dict, problems: list[Problem]) -> Fields:
    return Fields(
        data,
        "site/tenants.toml",
        problems,
        table="tenants.agencies",
        line=LINES.get,
        table_line=2,
    )


def test_missing_and_unknown_keys_name_the_table_and_the_line() -> None:
    problems: list[Problem] = []
    f = fields({"domain": "teams.example", "slogan": "x"}, problems)
    f.required(("domain", "name"))
    f.unknown(("domain", "name"))
    assert not f.ok
    assert [str(p) for p in problems] == [
        "site/tenants.toml:2: tenants.agencies.name: required key is missing "
        "(add name = … to [tenants.agencies])",
        "site/tenants.toml: tenants.agencies.slogan: unknown key (known keys: domain, name)",
    ]


def test_values_are_returned_when_good_and_reported_when_not() -> None:
    problems: list[Problem] = []
    data = {
        "domain": " ",
        "status": "on",
        "amount": 12.5,
        "coverage": 5,
        "colour": "red",
        "tags": ["a", ""],
        "date": "2026-02-30",
        "draft": "yes",
    }
    f = fields(data, problems)
    assert f.string("domain") is None
    assert f.choice("status", ("draft", "running"), "status", "use draft or running") is None
    assert f.whole("amount", "must be a whole number above 0") is None
    assert f.number("coverage", 0, 1, "is not a share between 0 and 1") is None
    assert f.matches("colour", re.compile("^#[0-9a-f]{6}$"), "is not a colour") is None
    assert f.strings("tags") is None
    assert f.date("date") is None
    assert f.flag("draft") is False
    assert [p.message for p in problems] == [
        "must be a non-empty string",
        "'on' is not a status",
        "must be a whole number above 0",
        "5 is not a share between 0 and 1",
        "'red' is not a colour",
        "must be a list of text",
        "'2026-02-30' is not a valid date",
        "'yes' is not true or false",
    ]
    assert problems[0].line == 3 and problems[0].field == "tenants.agencies.domain"

    good: list[Problem] = []
    f = fields({"domain": "teams.example", "amount": 3, "date": dt.date(2026, 3, 14)}, good)
    assert f.string("domain") == "teams.example"
    assert f.whole("amount", "must be a whole number above 0") == 3
    assert f.number("coverage", 0, 1, "is not a share", default=1.0) == 1.0
    assert f.choice("status", ("draft",), "status", "use draft", default="draft") == "draft"
    assert f.strings("tags") == ()
    assert f.date("date") == dt.date(2026, 3, 14)
    assert f.ok and not good


def test_a_nested_table_reports_into_its_parent() -> None:
    problems: list[Problem] = []
    parent = fields({"theme": {"primary": "red"}}, problems)
    theme = parent.nested("theme", parent.data["theme"])
    theme.required(("primary", "accent"), "a colour like #0b6e4f")
    theme.matches("primary", re.compile("^#"), "is not a colour", "write it like #0b6e4f")
    assert not parent.ok
    assert [str(p) for p in problems] == [
        "site/tenants.toml:7: tenants.agencies.theme.accent: required key is missing "
        "(a colour like #0b6e4f)",
        "site/tenants.toml:8: tenants.agencies.theme.primary: 'red' is not a colour "
        "(write it like #0b6e4f)",
    ]


def test_paths_of_the_output_are_checked_by_the_one_rule() -> None:
    problems: list[Problem] = []
    f = fields({}, problems)
    assert f.address("image", "/static/ok.png")
    assert not f.address("image", "/static/../secret")
    assert problems[0].field == "tenants.agencies.image" and "'/static/../secret'" in str(
        problems[0]
    )
