"""Split tests: their definitions (site/experiments.toml) and the assignment of visitors.

Assignment reproduces GrowthBook's v2 hashing exactly (FNV-1a 32-bit over UTF-16 code units,
``fnv1a32(str(fnv1a32(seed + id))) % 10000 / 10000``, bucket ranges from weights times
coverage), so a GrowthBook SDK, in the browser too, computes the same variant for the same
visitor id. Used by the build (which variants to render) and by the dynamic service (which
one to serve); imports neither Frozen-Flask nor a database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from floe.errors import Problem, SourceError
from floe.fields import Fields
from floe.tomlsource import locate, read_toml

STATUSES = ("draft", "running", "stopped")
#: The assignment cookie's variant for visitors outside the coverage (they see the control).
OUTSIDE = "none"
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")
KEYS = ("tenants", "pages", "variants", "coverage", "status", "seed", "winner")


def assignment_cookie(experiment: str, variant: str | None) -> str:
    """One cookie name per experiment and variant (``None``: outside the coverage): hosts'
    edges can test a cookie's presence, not its value."""
    return f"floe_x_{experiment}_{variant or OUTSIDE}"


def fnv1a32(text: str) -> int:
    """FNV-1a, 32 bits, over UTF-16 code units (what JavaScript's charCodeAt gives)."""
    value = 0x811C9DC5
    data = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        value = ((value ^ (data[i] | data[i + 1] << 8)) * 0x01000193) & 0xFFFFFFFF
    return value


def bucket(seed: str, visitor_id: str) -> float:
    """Where ``visitor_id`` falls in [0, 1) for ``seed``: GrowthBook's hash, version 2."""
    return fnv1a32(str(fnv1a32(seed + visitor_id))) % 10000 / 10000


def bucket_ranges(weights: tuple[float, ...], coverage: float) -> list[tuple[float, float]]:
    """Each variant's [start, end): its share of [0, 1), of which ``coverage`` is in the test."""
    ranges, cumulative = [], 0.0
    for weight in weights:
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return ranges


@dataclass(frozen=True)
class Variant:
    key: str
    weight: float


@dataclass(frozen=True)
class Experiment:
    key: str
    tenants: tuple[str, ...]
    pages: tuple[str, ...]
    variants: tuple[Variant, ...]
    coverage: float = 1.0
    status: str = "draft"
    seed: str = ""
    #: A stopped test's declared winner: its pages show this variant to everyone, at their own
    #: URLs. None: a stopped test shows its control.
    winner: str | None = None
    #: Where its table starts in site/experiments.toml, for errors found later (the build's).
    line: int | None = field(default=None, repr=False, compare=False)

    @property
    def control(self) -> Variant:
        return self.variants[0]

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def concluded(self) -> Variant:
        """What a stopped test shows everyone: the declared winner, else the control."""
        return (self.variant(self.winner) if self.winner else None) or self.control

    def variant(self, key: str) -> Variant | None:
        return next((v for v in self.variants if v.key == key), None)

    def assign(self, visitor_id: str) -> Variant | None:
        """The visitor's variant, or None when the visitor is outside the coverage."""
        n = bucket(self.seed or self.key, visitor_id)
        ranges = bucket_ranges(tuple(v.weight for v in self.variants), self.coverage)
        for variant, (start, end) in zip(self.variants, ranges, strict=True):
            if start <= n < end:
                return variant
        return None


class Experiments(Mapping[str, Experiment]):
    """Experiments by key, in file order (read-only)."""

    def __init__(self, experiments: Mapping[str, Experiment]):
        self._experiments = dict(experiments)

    def __getitem__(self, key: str) -> Experiment:
        return self._experiments[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._experiments)

    def __len__(self) -> int:
        return len(self._experiments)

    def running_on(self, tenant: str, page: str | None = None) -> list[Experiment]:
        """The running experiments of ``tenant`` (on ``page`` when given)."""
        return [
            e
            for e in self.values()
            if e.running and tenant in e.tenants and (page is None or page in e.pages)
        ]


def load_experiments(
    path: Path,
    tenants: Mapping[str, Any],
    pages: Mapping[str, set[str]] | None = None,
    *,
    display_path: str | None = None,
) -> Experiments:
    """Read and check ``path`` (no file: no experiments). ``pages`` (tenant → landing page
    names), when given, lets the check name pages that do not exist."""
    shown = display_path or str(path)
    read = read_toml(path, shown)
    if read is None:
        return Experiments({})
    text, data = read
    problems: list[Problem] = []
    for key in sorted(set(data) - {"experiments"}):
        problems.append(
            Problem(
                shown,
                locate(text, key, "experiments"),
                key,
                "unknown top-level key",
                "experiments are tables named [experiments.KEY]",
            )
        )
    tables = data.get("experiments", {})
    experiments: dict[str, Experiment] = {}
    for key, table in tables.items() if isinstance(tables, dict) else ():
        check = _Checker(shown, text, key, problems)
        experiment = check.experiment(table, tenants, pages)
        if experiment is not None:
            experiments[key] = experiment
    _check_overlaps(experiments, shown, text, problems)
    if problems:
        raise SourceError(problems)
    return Experiments(experiments)


class _Checker:
    """Checks one ``[experiments.KEY]`` table, adding a Problem per mistake."""

    def __init__(self, shown: str, text: str, key: str, problems: list[Problem]):
        self.shown, self.text, self.key, self.problems = shown, text, key, problems

    def fields(self, table: Mapping[str, Any]) -> Fields:
        return Fields(
            table, self.shown, self.problems, table=f"experiments.{self.key}", line=self.line
        )

    def line(self, field: str) -> int | None:
        item = re.match(r"variants\[(\d+)\](?:\.(\w+))?$", field)
        if item:
            return self.variant_line(int(item.group(1)), item.group(2))
        return locate(self.text, field.split(".")[0], "experiments", self.key)

    def variant_line(self, index: int, field: str | None) -> int | None:
        """The line of the ``index``-th ``[[experiments.KEY.variants]]`` (or of its field)."""
        header = re.compile(rf"^\s*\[\[\s*experiments\.{re.escape(self.key)}\.variants\s*\]\]")
        lines = self.text.splitlines()
        starts = [i for i, line in enumerate(lines) if header.match(line)]
        if index >= len(starts):
            return locate(self.text, "variants", "experiments", self.key)
        start = starts[index]
        if field:
            for i in range(start + 1, len(lines)):
                if lines[i].lstrip().startswith("["):
                    break
                if re.match(rf"^\s*{field}\s*=", lines[i]):
                    return i + 1
        return start + 1

    def experiment(
        self, table: Any, tenants: Mapping[str, Any], pages: Mapping[str, set[str]] | None
    ) -> Experiment | None:
        f = self.fields(table if isinstance(table, dict) else {})
        if not _KEY.match(self.key):
            f.problem(
                "key",
                f"{self.key!r} is not a valid key",
                "use lowercase letters, digits and dashes: it is in cookie names",
            )
        if not isinstance(table, dict):
            f.problem("key", "must be a table")
            return None
        f.unknown(KEYS, "unknown field", "the fields are: ")
        chosen = self.tenants(f, tenants)
        names = self.pages(f, chosen, pages)
        variants = self.variants(f, table.get("variants"))
        coverage = f.number(
            "coverage",
            0,
            1,
            "is not a share between 0 and 1",
            "e.g. 0.4 puts 40% of visitors in the test",
            default=1.0,
        )
        status = f.choice("status", STATUSES, "status", "use " + ", ".join(STATUSES), "draft")
        seed = table.get("seed", "")
        if not isinstance(seed, str):
            f.problem("seed", "must be a string")
        winner = table.get("winner")
        if winner is not None:
            keys = [v.key for v in variants]
            if not isinstance(winner, str) or (keys and winner not in keys):
                f.problem(
                    "winner",
                    f"{winner!r} is not one of the variants",
                    f"the variants are: {', '.join(keys)}",
                )
            elif (declared := table.get("status", "draft")) != "stopped":
                f.problem(
                    "winner",
                    f"a winner is declared, but the status is {declared!r}",
                    'set status = "stopped": '
                    f"python build.py experiment stop {self.key} --winner {winner}",
                )
        if not f.ok or coverage is None or status is None:
            return None
        line = locate(self.text, self.key, "experiments", self.key)
        return Experiment(self.key, chosen, names, variants, coverage, status, seed, winner, line)

    def tenants(self, f: Fields, known: Mapping[str, Any]) -> tuple[str, ...]:
        if f.data.get("tenants") == "all":
            return tuple(known)
        value = f.strings(
            "tenants",
            'must be a list of tenant keys, or "all"',
            f"tenants are: {', '.join(known)}",
            required=True,
        )
        for tenant in value or ():
            if tenant not in known:
                f.problem(
                    "tenants",
                    f"unknown tenant {tenant!r}",
                    f"site/tenants.toml has: {', '.join(known)}",
                )
        return tuple(t for t in value or () if t in known)

    def pages(
        self, f: Fields, tenants: tuple[str, ...], known: Mapping[str, set[str]] | None
    ) -> tuple[str, ...]:
        value = f.strings(
            "pages",
            "must be a list of landing page names",
            'e.g. ["pricing"] for content/pages/TENANT/pricing.md',
            required=True,
        )
        if known is not None:
            for tenant in tenants:
                for page in value or ():
                    if page not in known.get(tenant, set()):
                        f.problem(
                            "pages",
                            f"tenant {tenant!r} has no page {page!r}",
                            f"create content/pages/{tenant}/{page}.md or remove it",
                        )
        return value or ()

    def variants(self, f: Fields, value: Any) -> tuple[Variant, ...]:
        hint = "add [[experiments.KEY.variants]] tables with key and weight; the first is control"
        if not isinstance(value, list) or len(value) < 2:
            f.problem("variants", "needs two variants or more", hint)
            return ()
        variants: list[Variant] = []
        for i, item in enumerate(value):
            if not isinstance(item, dict) or set(item) - {"key", "weight"}:
                f.problem(f"variants[{i}]", "must be a table of key and weight", hint)
                continue
            v = f.nested(f"variants[{i}]", item)
            key = v.matches(
                "key",
                _KEY,
                "is not a valid key",
                "lowercase letters, digits and dashes: it names files and cookies",
                required=True,
            )
            # The page's variant file and address:
            if key is None or not v.address("key", key, hint="use a shorter key"):
                continue
            if any(variant.key == key for variant in variants):
                v.problem("key", f"duplicate variant key {key!r}", "each variant needs its own key")
                continue
            weight = v.number("weight", 0, 1, "is not a weight between 0 and 1")
            if weight is not None:
                variants.append(Variant(key, weight))
        total = sum(v.weight for v in variants)
        if len(variants) == len(value) and not math.isclose(total, 1.0, abs_tol=1e-9):
            f.problem(
                "variants",
                f"the weights add up to {total:g}, not 1",
                "e.g. 0.5 and 0.5, or 0.34, 0.33 and 0.33",
            )
        return tuple(variants)


def _check_overlaps(
    experiments: Mapping[str, Experiment], shown: str, text: str, problems: list[Problem]
) -> None:
    """Two running experiments on one page of one tenant would each spoil the other."""
    seen: dict[tuple[str, str], str] = {}
    for experiment in experiments.values():
        if not experiment.running:
            continue
        for tenant in experiment.tenants:
            for page in experiment.pages:
                other = seen.setdefault((tenant, page), experiment.key)
                if other != experiment.key:
                    problems.append(
                        Problem(
                            shown,
                            locate(text, "pages", "experiments", experiment.key),
                            f"experiments.{experiment.key}.pages",
                            f"page {page!r} of tenant {tenant!r} is already under running "
                            f"experiment {other!r}",
                            "stop one of them, or test another page",
                        )
                    )
