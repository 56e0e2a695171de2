"""Split-test report benchmark: ``build_report`` on 1,000,000 exposures and 50,000 users.

    .venv/bin/python bench/split_report.py                 # about two minutes, most of it loading
    .venv/bin/python bench/split_report.py --exposures 200000 --users 10000 --runs 3 --explain

For SQLite (a temporary file) and PostgreSQL (a database created at
postgresql://postgres@127.0.0.1:5432 for the run and dropped after; skipped when it does not
answer), it migrates the schema, loads a deterministic data set in bulk (executemany on SQLite,
COPY on PostgreSQL), analyses the tables as autovacuum would, and times, as medians of --runs
runs each on a new session:

  (a) the report of the experiment: dynamic.split_tests.report.build_report, every tenant and day
  (b) the report of one tenant from a day on (--tenant T --since D)
  (c) baseline: SELECT count(*) FROM exposures WHERE experiment = KEY, the least any report
      of these exposures can cost
  (d) baseline: the naive report, once: every exposure, assignment, payment and dispute row
      fetched and added up in a Python loop

It prints each with its ratio to (c), and (d) divided by (a); the time of each of (a)'s
queries; with --explain their query plans. It exits 1 when (a) or (b) takes --limit seconds
(2) or more.

The data: --exposures exposures of one experiment (control and annual, 50/50; 70% on the
freelancers tenant; over 60 days), --users users, each with a bucket in the experiment and
signed up on the day of an exposure; one in five paid (usd 1200 or 9900, or eur 2900; a second
payment for a quarter of them), with refunds and chargebacks on a few.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from sqlalchemy import event, func, select, text

from bench.service import postgres_database
from dynamic.core.db import db
from dynamic.payments.ledger import HELD
from dynamic.payments.models import Dispute, Payment
from dynamic.split_tests.models import Exposure, UserAssignment
from floe.experiments import Experiment, Variant

KEY = "bench-pricing"
EXPERIMENT = Experiment(
    key=KEY,
    tenants=("freelancers", "agencies"),
    pages=("pricing",),
    variants=(Variant("control", 0.5), Variant("annual", 0.5)),
    status="running",
)
START = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
DAYS = 60
SINCE = (START + dt.timedelta(days=30)).date()


# --- the data -----------------------------------------------------------------------------------


def exposure_rows(count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """(visitor_id, experiment, variant, tenant, seen_at), in time order."""
    step = DAYS * 86400 / count
    for i in range(count):
        yield (
            f"visitor-{i:08d}",
            KEY,
            "control" if rng.random() < 0.5 else "annual",
            "freelancers" if rng.random() < 0.7 else "agencies",
            START + dt.timedelta(seconds=i * step),
        )


def user_rows(
    visitors: list[tuple[Any, ...]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The users and their buckets: one per exposure row given, signed up when it was seen."""
    users, buckets = [], []
    for user_id, (_, _, variant, tenant, seen_at) in enumerate(visitors, start=1):
        email = f"user-{user_id}@example.com"
        users.append((user_id, email, "!", seen_at, tenant, False, True, f"token-{user_id}"))
        buckets.append((user_id, KEY, variant, seen_at))
    return users, buckets


def payment_rows(
    users: int, rng: random.Random
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Payments (one user in five; a quarter of them twice) and chargebacks."""
    payments, disputes = [], []
    when = START + dt.timedelta(days=DAYS)
    for user_id in range(1, users + 1):
        if rng.random() >= 0.2:
            continue
        for _ in range(2 if rng.random() < 0.25 else 1):
            amount, currency = rng.choice(((1200, "usd"), (9900, "usd"), (2900, "eur")))
            refunded = amount if rng.random() < 0.03 else 0
            status = "paid" if rng.random() < 0.95 else "failed"
            number = len(payments) + 1
            payments.append(
                (number, user_id, status, amount, currency, refunded, f"pi_{number}", when, when)
            )
            if status == "paid" and rng.random() < 0.01:
                state = rng.choice(("needs_response", "lost", "won", "warning_needs_response"))
                disputes.append((f"dp_{number}", number, amount, currency, state, when, when))
    return payments, disputes


TABLES: dict[str, tuple[str, ...]] = {
    "exposures": ("visitor_id", "experiment", "variant", "tenant", "seen_at"),
    "users": (
        "id",
        "email",
        "password_hash",
        "created_at",
        "tenant",
        "is_admin",
        "is_active",
        "session_token",
    ),
    "user_assignments": ("user_id", "experiment", "variant", "assigned_at"),
    "payments": (
        "id",
        "user_id",
        "status",
        "amount",
        "currency",
        "amount_refunded",
        "payment_intent_id",
        "created_at",
        "updated_at",
    ),
    "disputes": ("id", "payment_id", "amount", "currency", "status", "created_at", "state_at"),
}


def load(table: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """Rows into ``table`` in bulk: COPY on PostgreSQL, executemany on SQLite (with times as
    SQLAlchemy stores them there: UTC text)."""
    columns = TABLES[table]
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                (tuple(_sqlite(v) for v in row) for row in rows),
            )
        raw.commit()
    finally:
        raw.close()


def _sqlite(value: Any) -> Any:
    return f"{value:%Y-%m-%d %H:%M:%S.%f}" if isinstance(value, dt.datetime) else value


def seed(exposures: int, users: int) -> dict[str, int]:
    """Load the data set; returns how many rows each table got."""
    picked = sorted(random.Random(2).sample(range(exposures), users))
    wanted, seen = set(picked), {}

    def tap(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        """The rows, keeping those of the visitors who will sign up."""
        for i, row in enumerate(rows):
            if i in wanted:
                seen[i] = row
            yield row

    load("exposures", tap(exposure_rows(exposures, random.Random(1))))
    people, buckets = user_rows([seen[i] for i in picked])
    load("users", people)
    load("user_assignments", buckets)
    payments, disputes = payment_rows(users, random.Random(3))
    load("payments", payments)
    load("disputes", disputes)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # What autovacuum does in production: statistics, and PostgreSQL's visibility map
        # (index-only scans need it).
        conn.execute(
            text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE")
        )
    return {
        "exposures": exposures,
        "users": users,
        "payments": len(payments),
        "disputes": len(disputes),
    }


# --- what is timed ------------------------------------------------------------------------------


def report(**filters: Any) -> None:
    from dynamic.split_tests.report import build_report

    build_report(EXPERIMENT, **filters)


def count_baseline() -> None:
    db.session.scalar(select(func.count()).select_from(Exposure).where(Exposure.experiment == KEY))


def naive_report() -> None:
    """The same counts without GROUP BY: every row through Python."""
    exposures: Counter[tuple[str, dt.date]] = Counter()
    for variant, seen_at in db.session.execute(
        select(Exposure.variant, Exposure.seen_at).where(Exposure.experiment == KEY)
    ):
        exposures[variant, seen_at.date()] += 1
    buckets: dict[int, str] = {}
    signups: Counter[tuple[str, dt.date]] = Counter()
    for user, variant, assigned_at in db.session.execute(
        select(UserAssignment.user_id, UserAssignment.variant, UserAssignment.assigned_at).where(
            UserAssignment.experiment == KEY
        )
    ):
        buckets[user] = variant
        signups[variant, assigned_at.date()] += 1
    net: dict[tuple[int, str], int] = defaultdict(int)
    for payment in db.session.scalars(select(Payment).where(Payment.status == "paid")):
        if payment.user_id in buckets:
            net[payment.user_id, payment.currency] += payment.amount - payment.amount_refunded
    for dispute, user in db.session.execute(
        select(Dispute, Payment.user_id)
        .join(Payment, Payment.id == Dispute.payment_id)
        .where(Payment.status == "paid", Dispute.status.in_(HELD))
    ):
        if user in buckets:
            net[user, dispute.currency] -= dispute.amount
    moments: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for (user, currency), value in net.items():
        totals = moments[buckets[user], currency]
        totals[0] += 1
        totals[1] += value
        totals[2] += value * value


def timed(work: Callable[[], None], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        db.session.remove()  # a new session each run, as each request or command gets
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    db.session.remove()
    return times


class Statements:
    """Each SQL statement run while it is active, with its parameters."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def __enter__(self) -> Statements:
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append((statement, parameters))


def rerun(statement: str, parameters: Any, prefix: str = "") -> tuple[float, list[Any]]:
    """Run ``statement`` again on a connection of its own: the time to execute it and fetch
    every row (SQLite goes on aggregating while the rows are fetched), and the rows."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        began = time.perf_counter()
        cursor.execute(prefix + statement, parameters)
        rows = cursor.fetchall()
        return time.perf_counter() - began, rows
    finally:
        raw.close()


def explain(statement: str, parameters: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    _, rows = rerun(statement, parameters, prefix)
    return "\n".join("    " + " ".join(str(cell) for cell in row) for row in rows)


# --- the run ------------------------------------------------------------------------------------


def service(database_url: str) -> Flask:
    from flask_migrate import upgrade

    from dynamic import create_app

    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
    return app


def measure(name: str, database_url: str, args: argparse.Namespace) -> dict[str, float]:
    app = service(database_url)
    with app.app_context():
        began = time.perf_counter()
        rows = seed(args.exposures, args.users)
        loaded = time.perf_counter() - began
        print(
            f"{name}: loaded {rows['exposures']:,} exposures, {rows['users']:,} users with "
            f"buckets, {rows['payments']:,} payments, {rows['disputes']:,} disputes in "
            f"{loaded:.1f} s",
            flush=True,
        )
        report()  # warm up: imports (scipy), the connection, the statement cache
        figures = {
            "a": statistics.median(timed(report, args.runs)),
            "b": statistics.median(
                timed(lambda: report(tenant="freelancers", since=SINCE), args.runs)
            ),
            "c": statistics.median(timed(count_baseline, args.runs)),
            "d": timed(naive_report, 1)[0],
        }
        with Statements() as statements:
            report()
        for statement, parameters in statements.seen:
            elapsed = rerun(statement, parameters)[0]
            print(f"  {elapsed:6.3f} s  {' '.join(statement.split())[:90]}…")
            if args.explain:
                print(explain(statement, parameters))
        db.session.remove()
        db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exposures", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument("--users", type=int, default=50_000, help="default 50,000")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median; default 5)")
    parser.add_argument("--limit", type=float, default=2.0, help="seconds a report may take")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    if args.users > args.exposures:
        parser.error("--users: each user is one of the exposed visitors; give fewer users")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="floe-bench-") as tmp:
        results["SQLite"] = measure("SQLite", f"sqlite:///{tmp}/bench.sqlite", args)
    if not args.no_postgres:
        with postgres_database() as url:
            if url is not None:
                results["PostgreSQL"] = measure("PostgreSQL", url, args)
    print(
        f"\n{args.exposures:,} exposures, {args.users:,} users; medians of {args.runs} runs; "
        "ratios to (c) count(*)"
    )
    header = (
        f"{'database':<11} | {'(a) report':>16} | {'(b) tenant+since':>16} | "
        f"{'(c) count(*)':>12} | {'(d) naive loop':>14} | {'(d)/(a)':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(
            f"{name:<11} | {r['a']:7.3f} s {r['a'] / r['c']:5.1f}x | "
            f"{r['b']:7.3f} s {r['b'] / r['c']:5.1f}x | {r['c']:10.3f} s | "
            f"{r['d']:12.2f} s | {r['d'] / r['a']:6.1f}x"
        )
    slow = [name for name, r in results.items() if max(r["a"], r["b"]) >= args.limit]
    if slow:
        print(f"over the limit of {args.limit:g} s: {', '.join(slow)}")
        sys.exit(1)
    print(f"every report under {args.limit:g} s")


if __name__ == "__main__":
    main()
