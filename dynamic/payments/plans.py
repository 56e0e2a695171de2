"""What each site sells: ``site/plans.toml``, one ``[plans.TENANT.KEY]`` table per plan.

A plan names a Stripe price (which Stripe charges) and repeats its amount and currency for the
pages to show. Problems are reported like the tenant registry's: file, line, field and fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floe.errors import Problem, SourceError
from floe.fields import Fields
from floe.tomlsource import locate, read_toml

KINDS = ("recurring", "one-off")
INTERVALS = ("day", "week", "month", "year")
REQUIRED = ("name", "price", "kind", "amount", "currency")
OPTIONAL = ("interval", "access_days")
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_CURRENCY = re.compile(r"^[a-z]{3}$")
#: Stripe's currencies without a minor unit (amounts are whole yen, won…).
ZERO_DECIMAL = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()  # noqa: SIM905
)
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


@dataclass(frozen=True)
class Plan:
    tenant: str
    key: str
    name: str
    #: The Stripe price id (``price_…``): what Checkout charges.
    price: str
    kind: str
    #: In the currency's minor unit, for display; Stripe's price is what counts.
    amount: int
    currency: str
    interval: str | None = None
    #: One-off plans: how many days a purchase gives access (None: for good).
    access_days: int | None = None

    @property
    def ref(self) -> str:
        """How payment records name the plan: "tenant/key"."""
        return f"{self.tenant}/{self.key}"

    @property
    def recurring(self) -> bool:
        return self.kind == "recurring"

    @property
    def mode(self) -> str:
        """The Checkout Session mode."""
        return "subscription" if self.recurring else "payment"

    @property
    def label(self) -> str:
        """The price as the pages show it: "$12.00 a month", "$49.00 once"."""
        price = format_money(self.amount, self.currency)
        return f"{price} a {self.interval}" if self.recurring else f"{price} once"


def format_money(amount: int, currency: str) -> str:
    """``amount`` minor units of ``currency`` for people: 1200 usd is "$12.00"."""
    currency = currency.lower()
    places = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    sign = "-" if amount < 0 else ""
    number = f"{abs(amount) / 10**places:,.{places}f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency.upper()}"


class Plans(Mapping[tuple[str, str], Plan]):
    """Plans by ``(tenant, key)``, in file order."""

    def __init__(self, plans: Iterable[Plan] = ()) -> None:
        self._plans = {(plan.tenant, plan.key): plan for plan in plans}

    def __getitem__(self, key: tuple[str, str]) -> Plan:
        return self._plans[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._plans)

    def __len__(self) -> int:
        return len(self._plans)

    def of(self, tenant: str) -> list[Plan]:
        return [plan for (owner, _), plan in self._plans.items() if owner == tenant]

    def by_ref(self, ref: str | None) -> Plan | None:
        tenant, _, key = (ref or "").partition("/")
        return self._plans.get((tenant, key))

    def by_price(self, price: str, tenant: str | None = None) -> Plan | None:
        """The plan selling ``price`` (on ``tenant`` first, when a price is sold on several)."""
        found = [plan for plan in self._plans.values() if plan.price == price]
        return next((p for p in found if p.tenant == tenant), found[0] if found else None)


def load_plans(path: Path, tenants: Iterable[str], *, display_path: str | None = None) -> Plans:
    """Read and check ``path``; no file means nothing is for sale. Raises SourceError."""
    shown = display_path or str(path)
    read = read_toml(path, shown)
    if read is None:
        return Plans()
    text, data = read
    problems: list[Problem] = []
    for key in sorted(set(data) - {"plans"}):
        problems.append(
            Problem(shown, locate(text, key, key), key, "unknown key", "use [plans.TENANT.KEY]")
        )
    known = list(tenants)
    plans: list[Plan] = []
    for tenant, table in (data.get("plans") or {}).items():
        if tenant not in known:
            problems.append(
                Problem(
                    shown,
                    locate(text, tenant, "plans"),
                    f"plans.{tenant}",
                    "no such tenant",
                    f"site/tenants.toml has: {', '.join(known)}",
                )
            )
            continue
        if not isinstance(table, dict):
            problems.append(Problem(shown, None, f"plans.{tenant}", "must be a table of plans"))
            continue
        for key, fields in table.items():
            plan = _plan(tenant, key, fields, text, shown, problems)
            if plan is not None:
                plans.append(plan)
    seen: dict[tuple[str, str], str] = {}
    for plan in plans:
        other = seen.setdefault((plan.tenant, plan.price), plan.key)
        if other != plan.key:
            problems.append(
                Problem(
                    shown,
                    locate(text, "price", f"plans.{plan.tenant}", plan.key),
                    f"plans.{plan.tenant}.{plan.key}.price",
                    f"{plan.price!r} is also the price of plan {other!r}",
                    "each plan of a site needs its own Stripe price",
                )
            )
    if problems:
        raise SourceError(problems)
    return Plans(plans)


def _plan(
    tenant: str, key: str, fields: Any, text: str, shown: str, problems: list[Problem]
) -> Plan | None:
    where = f"plans.{tenant}.{key}"
    f = Fields(
        fields if isinstance(fields, dict) else {},
        shown,
        problems,
        table=where,
        line=lambda field: locate(text, field or key, f"plans.{tenant}", key),
        table_line=locate(text, key, f"plans.{tenant}", key),
    )
    if not _KEY.match(key):
        f.problem("", "a plan key is lowercase letters, digits and '-'", "e.g. [plans.site.pro]")
    if not isinstance(fields, dict):
        f.problem("", "must be a table")
        return None
    f.required(REQUIRED)
    f.unknown(REQUIRED + OPTIONAL)
    name, price = f.string("name"), f.string("price")
    if price and not price.startswith("price_"):
        f.problem("price", f"{price!r} is not a Stripe price id", "they start with price_")
    kind = f.choice("kind", KINDS, "kind", "use recurring or one-off")
    amount = f.whole("amount", "must be a whole number above 0", "in cents: 1200 for 12.00")
    currency = f.matches(
        "currency", _CURRENCY, "is not a currency", "a lowercase ISO code, e.g. usd"
    )
    interval = fields.get("interval")
    if kind == "recurring" and interval not in INTERVALS:
        f.problem("interval", "a recurring plan needs an interval", "day, week, month or year")
    if kind == "one-off" and "interval" in fields:
        hint = "remove it, or use kind = recurring"
        f.problem("interval", "a one-off plan has no interval", hint)
    days = f.whole("access_days", "a whole number of days above 0, for one-off plans only")
    if days is not None and kind != "one-off":
        f.problem("access_days", "a whole number of days above 0, for one-off plans only")
    if not (f.ok and name and price and kind and amount and currency):
        return None
    return Plan(
        tenant=tenant,
        key=key,
        name=name.strip(),
        price=price.strip(),
        kind=kind,
        amount=amount,
        currency=currency,
        interval=interval if kind == "recurring" else None,
        access_days=days,
    )
