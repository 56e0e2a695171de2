"""Login-storm benchmark: split-test assignment and health while wrong-password logins pour in.

    .venv/bin/python bench/login_storm.py                      # about two minutes
    .venv/bin/python bench/login_storm.py --no-postgres --seconds 5 --storm-rate 60
    .venv/bin/python bench/login_storm.py --service-env FLOE_SOME_PROOF=... \\
        --storm-header "X-Some-Proof: ..."                     # an edge proof, if one is needed

For SQLite (a temporary file) and PostgreSQL (a database created at 127.0.0.1:5432 for the run
and dropped after; skipped when it does not answer), it starts the service under gunicorn with
the shipped gunicorn.conf.py (its workers and threads, FLOE_ENV=production) on loopback, with
rate limits in the Redis at 127.0.0.1:6379 under a key prefix of the run's own (deleted after;
without Redis, in each worker's memory), and measures two phases of --seconds each:

  idle   --probes connections cycling GET /app/split/assign?exp=… and GET /app/health
  storm  the same probes, while --storm-connections connections POST wrong-password logins at
         --storm-rate a second in all (paced, not as fast as possible: a flood of requests is
         the edge's to stop, a storm of password checks is ours), each for an unknown email
         from an address of its own: FLOE_TRUSTED_PROXIES=1 and a random X-Forwarded-For,
         so the per-address and per-account limits never stop it and every login costs a
         password check (the unknown-email dummy check), the worst case for the host

twice: with the password gate as shipped (FLOE_PASSWORD_CHECKS and the rest at their
defaults), and, as the baseline, "ungated" (FLOE_PASSWORD_CHECKS=1000: every check at once,
as before the gate). It stops by itself: each phase lasts --seconds, and the storm sends
--storm-max logins at most.

Forwarded headers: the service believes X-Forwarded-For from FLOE_TRUSTED_PROXIES=1 proxy
only with an edge's proof, so the storm's logins carry X-Floe-Edge-Secret with the run's
FLOE_EDGE_SECRET, as CloudFront's origin header would. Other proofs: --service-env (the
service's setting) and --storm-header (the header the edge would add). The storm's answer
counts show whether the addresses were believed: were they not, every login would come from
127.0.0.1 and nearly all would be 429.

It prints, per database and gate setting, requests/s and p50/p99 (ms) of each probe endpoint
idle and during the storm, the storm's answers by status, and the load average before and
after (the machine is shared: compare the phases of one run, not runs).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import re
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service import (
    HOST,
    Candidate,
    Server,
    cores,
    migrate,
    postgres_database,
    session_cookie,
    sign_up,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
EXPERIMENT = "pricing-annual-first"  # site/experiments.toml, on tallystack.example
PROBES = (("split assign", f"/app/split/assign?exp={EXPERIMENT}"), ("health", "/app/health"))
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
UNGATED = {"FLOE_PASSWORD_CHECKS": "1000", "FLOE_PASSWORD_WAITERS": "1000"}

#: The run's proof of the edge (dynamic/core/edge_proof.py), a fresh random value each run.
EDGE_SECRET = secrets.token_urlsafe(48)


@dataclass
class Phase:
    """What the probes saw in one phase, and what the storm got."""

    seconds: float
    latencies: list[list[float]] = field(default_factory=lambda: [[] for _ in PROBES])
    errors: list[int] = field(default_factory=lambda: [0 for _ in PROBES])
    storm: Counter = field(default_factory=Counter)

    def rate(self, kind: int) -> float:
        return len(self.latencies[kind]) / self.seconds

    def percentile(self, kind: int, q: float) -> float:
        values = sorted(self.latencies[kind])
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))] * 1000


# --- the load: runs in client processes ---------------------------------------------------------


def _probe_loop(port: int, offset: int, start: float, stop: float, out: list) -> None:
    latencies: list[list[float]] = [[] for _ in PROBES]
    errors = [0 for _ in PROBES]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": HOST, "User-Agent": "floe-bench"}
    time.sleep(max(0.0, start - time.monotonic()))
    i = offset
    while time.monotonic() < stop:
        kind = i % len(PROBES)
        i += 1
        began = time.perf_counter()
        try:
            conn.request("GET", PROBES[kind][1], headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            conn.close()
            ok = False
        elapsed = time.perf_counter() - began
        if ok:
            latencies[kind].append(elapsed)
        else:
            errors[kind] += 1
    conn.close()
    out.append((latencies, errors))


def probe_process(
    port: int, threads: int, first: int, start: float, stop: float
) -> tuple[list[list[float]], list[int]]:
    """``threads`` probe connections from ``start`` to ``stop`` (time.monotonic)."""
    out: list = []
    workers = [
        threading.Thread(target=_probe_loop, args=(port, first + n, start, stop, out))
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    latencies: list[list[float]] = [[] for _ in PROBES]
    errors = [0 for _ in PROBES]
    for got, failed in out:
        for kind in range(len(PROBES)):
            latencies[kind].extend(got[kind])
            errors[kind] += failed[kind]
    return latencies, errors


def _storm_loop(
    port: int,
    interval: float,
    start: float,
    stop: float,
    budget: int,
    extra: dict[str, str],
    out: list,
) -> None:
    """Wrong-password logins, one every ``interval`` seconds, until ``stop`` or ``budget``."""
    statuses: Counter = Counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    base = {"Host": HOST, "User-Agent": "floe-bench-storm", **extra}
    conn.request("GET", "/app/login", headers=base)
    page = conn.getresponse()
    token = CSRF.search(page.read().decode())[1]
    cookie = session_cookie(page)
    time.sleep(max(0.0, start - time.monotonic()) + random.random() * interval)
    due = time.monotonic()
    sent = 0
    while sent < budget and time.monotonic() < stop:
        address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(256)}"
        form = {
            "csrf_token": token,
            "email": f"storm-{uuid.uuid4().hex[:10]}@example.com",
            "password": "not the password",
        }
        headers = {
            **base,
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-For": address,
        }
        try:
            conn.request("POST", "/app/login", body=urlencode(form), headers=headers)
            response = conn.getresponse()
            response.read()
            statuses[response.status] += 1
        except (OSError, http.client.HTTPException):
            conn.close()
            statuses["error"] += 1
        sent += 1
        due += interval
        time.sleep(max(0.0, due - time.monotonic()))
    conn.close()
    out.append(statuses)


def storm_process(
    port: int,
    threads: int,
    interval: float,
    start: float,
    stop: float,
    budget: int,
    extra: dict[str, str],
) -> Counter:
    out: list = []
    workers = [
        threading.Thread(target=_storm_loop, args=(port, interval, start, stop, budget, extra, out))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(out, Counter())


# --- the run -------------------------------------------------------------------------------------


def _shares(total: int, parts: int) -> list[int]:
    return [total // parts + (n < total % parts) for n in range(parts)]


def phase(pool: Pool, port: int, args: argparse.Namespace, storm: bool) -> Phase:
    start = time.monotonic() + 0.5  # time for every client process to get its orders
    stop = start + args.seconds
    probes = [
        pool.apply_async(
            probe_process, (port, share, sum(_shares(args.probes, 2)[:n]), start, stop)
        )
        for n, share in enumerate(_shares(args.probes, 2))
        if share
    ]
    storms = []
    if storm:
        interval = args.storm_connections / args.storm_rate  # seconds between one's logins
        budget = -(-args.storm_max // args.storm_connections)
        extra = {"X-Floe-Edge-Secret": EDGE_SECRET, **dict(args.storm_header)}
        storms = [
            pool.apply_async(storm_process, (port, share, interval, start, stop, budget, extra))
            for share in _shares(args.storm_connections, 2)
            if share
        ]
    result = Phase(args.seconds)
    for job in probes:
        latencies, errors = job.get(timeout=args.seconds + 120)
        for kind in range(len(PROBES)):
            result.latencies[kind].extend(latencies[kind])
            result.errors[kind] += errors[kind]
    for job in storms:
        result.storm += job.get(timeout=args.seconds + 120)
    return result


def redis_url() -> str | None:
    """The Redis for the limits, or None when it does not answer."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
        return REDIS_URL
    except Exception as error:
        print(f"Redis: not used ({error}); limits in each worker's memory")
        return None


def forget_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    for key in client.scan_iter(f"*{prefix}*", count=1000):
        client.delete(key)
    client.close()


def measure(database_url: str, args: argparse.Namespace, pool: Pool) -> dict[str, dict]:
    """Idle and storm phases with the gate as shipped and ungated, on ``database_url``."""
    prefix = f"floe-bench-storm-{uuid.uuid4().hex[:10]}"
    redis = redis_url()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLOE_"))},
        "FLOE_ENV": "production",
        "FLOE_MAILER": "console",
        "FLOE_MAIL_FROM": "Floe bench <bench@example.com>",
        "FLOE_STRIPE_SECRET_KEY": "sk_test_bench",
        "FLOE_STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "FLOE_SECRET_KEY": secrets.token_urlsafe(48),
        "FLOE_DATABASE_URL": database_url,
        "FLOE_TRUSTED_PROXIES": "1",
        # The proof an edge of ours adds (CloudFront's origin header): without it, production
        # believes no X-Forwarded-For and every login would come from 127.0.0.1.
        "FLOE_EDGE_SECRET": EDGE_SECRET,
        "FLOE_RATELIMIT_KEY_PREFIX": prefix,
        **({"FLOE_RATELIMIT_STORAGE_URL": redis} if redis else {}),
        **dict(args.service_env),
    }
    migrate(env)
    shipped = Candidate("gthread", max(2, cores()), 4)  # gunicorn.conf.py's defaults
    results: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="floe-bench-storm-") as tmp:
            for label, settings in (("gated", {}), ("ungated", UNGATED)):
                if label == "ungated" and args.no_ungated:
                    continue
                run_env = {**env, **settings, "FLOE_PASSWORD_GATE_DIR": f"{tmp}/gate-{label}"}
                server = Server(shipped, run_env, Path(tmp))
                try:
                    server.wait_ready()
                    sign_up(server.port)  # one real account, and every import warmed up
                    phase(
                        pool, server.port, argparse.Namespace(**{**vars(args), "seconds": 1}), False
                    )
                    load_before = os.getloadavg()[0]
                    idle = phase(pool, server.port, args, storm=False)
                    storm = phase(pool, server.port, args, storm=True)
                    results[label] = {
                        "idle": idle,
                        "storm": storm,
                        "load": (load_before, os.getloadavg()[0]),
                    }
                finally:
                    server.stop()
                print(f"  {label}: done", file=sys.stderr)
    finally:
        if redis:
            forget_keys(prefix)
    return results


def report(database: str, results: dict[str, dict], args: argparse.Namespace) -> None:
    print(f"\n{database}")
    header = (
        f"{'gate':<8} {'phase':<6} {'endpoint':<13} {'req/s':>6} {'x idle':>6}"
        f" {'p50 ms':>7} {'p99 ms':>7} {'x idle':>6} {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for label, got in results.items():
        idle = got["idle"]
        for name in ("idle", "storm"):
            measured = got[name]
            for kind, (endpoint, _) in enumerate(PROBES):
                rate, p99 = measured.rate(kind), measured.percentile(kind, 0.99)
                print(
                    f"{label:<8} {name:<6} {endpoint:<13} {rate:>6.0f}"
                    f" {rate / idle.rate(kind) if idle.rate(kind) else float('nan'):>6.2f}"
                    f" {measured.percentile(kind, 0.5):>7.1f} {p99:>7.1f}"
                    f" {p99 / idle.percentile(kind, 0.99):>6.2f} {measured.errors[kind]:>6}"
                )
        storm = got["storm"].storm
        sent = sum(storm.values())
        answers = ", ".join(
            f"{status}: {count}" for status, count in sorted(storm.items(), key=str)
        )
        print(
            f"{label:<8} storm: {sent} logins ({sent / args.seconds:.0f}/s) answered {answers};"
            f" load average {got['load'][0]:.1f} before, {got['load'][1]:.1f} after"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase (default 8)")
    parser.add_argument("--probes", type=int, default=4, help="probe connections (default 4)")
    parser.add_argument(
        "--storm-connections", type=int, default=16, help="storm connections (default 16)"
    )
    parser.add_argument(
        "--storm-rate", type=float, default=40, help="storm logins a second in all (default 40)"
    )
    parser.add_argument(
        "--storm-max", type=int, default=5000, help="storm logins at most per phase (default 5000)"
    )
    parser.add_argument(
        "--storm-header",
        type=_header,
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a header every storm login carries (e.g. an edge's proof); repeatable",
    )
    parser.add_argument(
        "--service-env",
        type=_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the service (e.g. the edge proof it checks); repeatable",
    )
    parser.add_argument("--no-ungated", action="store_true", help="skip the ungated baseline")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    print(
        f"cores: {cores()}; {args.probes} probe connections; storm: {args.storm_connections}"
        f" connections, {args.storm_rate:g} logins/s, {args.storm_max} at most;"
        f" {args.seconds:g} s per phase; load average before: {os.getloadavg()[0]:.1f}"
    )
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        if not args.no_sqlite:
            with tempfile.TemporaryDirectory(prefix="floe-bench-") as tmp:
                sqlite = f"sqlite:///{Path(tmp) / 'floe.sqlite'}"
                report("SQLite", measure(sqlite, args, pool), args)
        if not args.no_postgres:
            with postgres_database() as url:
                if url:
                    report("PostgreSQL", measure(url, args, pool), args)
    print(
        "\nx idle: the storm phase's figure divided by the idle phase's of the same server."
        f"\ntotal time: {time.monotonic() - started:.0f} s"
    )


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write 'Name: value'")
    return name.strip(), value.strip()


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=VALUE")
    return name, value


if __name__ == "__main__":
    main()
