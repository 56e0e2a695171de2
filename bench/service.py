"""Service benchmark: the dynamic service under gunicorn, by worker class, over real HTTP.

    .venv/bin/python bench/service.py                    # about 2 minutes
    .venv/bin/python bench/service.py --no-postgres --seconds 5 --rounds 5
    .venv/bin/python bench/service.py --candidate sync:5x1 --candidate gthread:3x4 --close

Each candidate (worker class, workers x threads) is a gunicorn started with the production
settings (gunicorn.conf.py; FLOE_ENV=production, mail logged not sent) on a temporary
database: SQLite, then PostgreSQL at postgresql://postgres@127.0.0.1:5432 when it answers (a
database created for the run and dropped after). The first candidate is the baseline: sync
with 2 x cores + 1 workers, gunicorn's usual advice. All candidates run side by side and are
measured in turns, round after round, so the machine's noise falls on each alike.

The load: client processes with threads, each thread one HTTP/1.1 connection (http.client,
keep-alive when the server allows it; sync workers close after every response), with
``Host: tallystack.example``, cycling through an even mix of

    GET /app/api/me   anonymous
    GET /app/api/me   logged in (the session cookie of a sign-up done first; loads the user)
    GET /app/health   a query to the database
    GET /app/login    a rendered template with a new CSRF token (and its session cookie)

It prints, for each database, requests per second (median of the rounds) and latency (p50,
p99, over all rounds), with each candidate's ratio to the baseline measured in the same run.
Clients and servers share the machine's cores: compare ratios, not absolute figures. With
--close every request asks for its own connection, as nginx does to its upstreams by default.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from argparse import Namespace
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "tallystack.example"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: (label, path, with the logged-in session cookie)
MIX = (
    ("me anonymous", "/app/api/me", False),
    ("me logged in", "/app/api/me", True),
    ("health (db)", "/app/health", False),
    ("login page", "/app/login", False),
)
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def cores() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class Candidate:
    worker_class: str
    workers: int
    threads: int

    @classmethod
    def parse(cls, text: str) -> Candidate:
        """``sync:5x1`` or ``gthread:3x4`` (workers x threads)."""
        match = re.fullmatch(r"(\w+):(\d+)x(\d+)", text)
        if not match:
            raise argparse.ArgumentTypeError(
                f"{text!r}: write class:WORKERSxTHREADS, e.g. sync:5x1"
            )
        return cls(match[1], int(match[2]), int(match[3]))

    def __str__(self) -> str:
        return f"{self.worker_class} {self.workers}x{self.threads}"


@dataclass
class Result:
    """What one candidate did over all rounds."""

    rates: list[float] = field(default_factory=list)
    latencies: list[list[float]] = field(default_factory=lambda: [[] for _ in MIX])
    errors: int = 0

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    def percentile(self, q: float, kind: int | None = None) -> float:
        values = sorted(
            self.latencies[kind] if kind is not None else [v for ls in self.latencies for v in ls]
        )
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))] * 1000


# --- the load: runs in client processes -------------------------------------------------------


def _connection_loop(
    port: int, offset: int, start: float, stop: float, cookie: str, close: bool, out: list
) -> None:
    latencies: list[list[float]] = [[] for _ in MIX]
    errors = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    base = {"Host": HOST, "User-Agent": "floe-bench"}
    if close:
        base["Connection"] = "close"
    with contextlib.suppress(OSError):
        conn.connect()
    time.sleep(max(0.0, start - time.monotonic()))
    i = offset
    while True:
        kind = i % len(MIX)
        i += 1
        _, path, logged_in = MIX[kind]
        headers = {**base, "Cookie": cookie} if logged_in else base
        began = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            conn.close()  # the next request opens a new connection
            ok = False
        elapsed = time.perf_counter() - began
        if time.monotonic() > stop:
            break
        if ok:
            latencies[kind].append(elapsed)
        else:
            errors += 1
    conn.close()
    out.append((latencies, errors))


def client_process(
    port: int, threads: int, first: int, start: float, stop: float, cookie: str, close: bool
) -> tuple[list[list[float]], int]:
    """Run ``threads`` connections from ``start`` to ``stop`` (time.monotonic, system-wide)."""
    out: list = []
    workers = [
        threading.Thread(
            target=_connection_loop, args=(port, first + n, start, stop, cookie, close, out)
        )
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    latencies: list[list[float]] = [[] for _ in MIX]
    errors = 0
    for got, failed in out:
        for kind, values in enumerate(got):
            latencies[kind].extend(values)
        errors += failed
    return latencies, errors


# --- the service --------------------------------------------------------------------------------


def migrate(env: dict[str, str]) -> None:
    """``flask db upgrade`` on the database of ``env``."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "dynamic", "db", "upgrade"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask db upgrade failed:\n{done.stderr[-3000:]}")


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    """A new PostgreSQL database for the run, or None when PostgreSQL does not answer."""
    try:
        import psycopg

        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as error:
        print(f"PostgreSQL: skipped ({str(error).strip().splitlines()[0]})")
        yield None
        return
    name = f"floe_bench_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Server:
    """One gunicorn, on a loopback port bound here and handed over as a file descriptor."""

    def __init__(self, candidate: Candidate, env: dict[str, str], logs: Path) -> None:
        self.candidate = candidate
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(2048)
        self.port = listener.getsockname()[1]
        self.stderr_path = logs / f"{candidate.worker_class}-{self.port}.log"
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "--config",
                    "gunicorn.conf.py",
                    "--worker-class",
                    candidate.worker_class,
                    "--workers",
                    str(candidate.workers),
                    "--threads",
                    str(candidate.threads),
                    "--bind",
                    f"fd://{listener.fileno()}",
                    "dynamic:create_app()",
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,  # the access log: written, as in production, not kept
                stderr=stderr,
                pass_fds=[listener.fileno()],
            )
        listener.close()

    def wait_ready(self, timeout: float = 60) -> None:
        """Until /app/health answers and every worker has booted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/app/health", headers={"Host": HOST})
                if conn.getresponse().status == 200:
                    booted = self.stderr_path.read_text().count("Booting worker")
                    if booted >= self.candidate.workers:
                        return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"{self.candidate} did not start:\n{self.stderr_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def sign_up(port: int) -> str:
    """A new account; its session cookie as ``session=…``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/app/signup", headers={"Host": HOST, "User-Agent": "floe-bench"})
    response = conn.getresponse()
    page = response.read().decode()
    cookie = session_cookie(response)
    password = secrets.token_urlsafe(16)
    form = {
        "csrf_token": CSRF.search(page)[1],
        "email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
        "password": password,
        "confirm": password,
    }
    conn.request(
        "POST",
        "/app/signup",
        body=urlencode(form),
        headers={
            "Host": HOST,
            "User-Agent": "floe-bench",
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise SystemExit(f"sign-up answered {response.status}, expected 302")
    cookie = session_cookie(response)
    conn.request(
        "GET", "/app/api/me", headers={"Host": HOST, "User-Agent": "floe-bench", "Cookie": cookie}
    )
    me = conn.getresponse().read()
    conn.close()
    if b'"authenticated":true' not in me:
        raise SystemExit(f"the sign-up's session cookie is not logged in: /app/api/me says {me!r}")
    return cookie


def session_cookie(response: http.client.HTTPResponse) -> str:
    """``session=…`` from the response's Set-Cookie headers."""
    for header in response.headers.get_all("Set-Cookie") or []:
        if header.startswith("session="):
            return header.split(";", 1)[0]
    raise SystemExit(f"no session cookie in the answer ({response.status})")


# --- the run -------------------------------------------------------------------------------------


def window(
    pool: Pool,
    server: Server,
    seconds: float,
    connections: int,
    processes: int,
    cookie: str,
    close: bool,
) -> tuple[float, list[list[float]], int]:
    """``connections`` clients on one server for ``seconds``: rate, latencies, errors."""
    start = time.monotonic() + 0.3  # time for every client process to get its orders
    stop = start + seconds
    shares = [connections // processes + (n < connections % processes) for n in range(processes)]
    jobs = [
        (server.port, share, sum(shares[:n]), start, stop, cookie, close)
        for n, share in enumerate(shares)
        if share
    ]
    latencies: list[list[float]] = [[] for _ in MIX]
    errors = 0
    for got, failed in pool.starmap(client_process, jobs):
        for kind, values in enumerate(got):
            latencies[kind].extend(values)
        errors += failed
    return sum(map(len, latencies)) / seconds, latencies, errors


def measure(
    database: str, database_url: str, candidates: list[Candidate], args: Namespace, pool: Pool
) -> dict[Candidate, Result]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLOE_"))},
        "FLOE_ENV": "production",
        "FLOE_MAILER": "console",  # sign-up may send mail: logged, never sent
        "FLOE_MAIL_FROM": "Floe bench <bench@example.com>",
        # Production refuses to start without Stripe settings; nothing here pays.
        "FLOE_STRIPE_SECRET_KEY": "sk_test_bench",
        "FLOE_STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "FLOE_SECRET_KEY": secrets.token_urlsafe(48),
        "FLOE_DATABASE_URL": database_url,
    }
    migrate(env)
    results = {candidate: Result() for candidate in candidates}
    with tempfile.TemporaryDirectory(prefix="floe-bench-logs-") as logs:
        servers = [Server(candidate, env, Path(logs)) for candidate in candidates]
        try:
            for server in servers:
                server.wait_ready()
            cookie = sign_up(servers[0].port)
            for server in servers:  # warm up: imports, connection pools, template cache
                window(pool, server, 1.0, args.connections, args.processes, cookie, args.close)
            for round_ in range(args.rounds):
                # a different order each round: no candidate always follows the same one
                turn = servers[round_ % len(servers) :] + servers[: round_ % len(servers)]
                for server in turn:
                    rate, latencies, errors = window(
                        pool,
                        server,
                        args.seconds,
                        args.connections,
                        args.processes,
                        cookie,
                        args.close,
                    )
                    result = results[server.candidate]
                    result.rates.append(rate)
                    for kind, values in enumerate(latencies):
                        result.latencies[kind].extend(values)
                    result.errors += errors
                print(f"  {database}: {round_ + 1} of {args.rounds} rounds done", file=sys.stderr)
        finally:
            for server in servers:
                server.stop()
    return results


def report(database: str, results: dict[Candidate, Result]) -> None:
    base = next(iter(results.values()))
    print(f"\n{database}")
    header = (
        f"{'candidate':<14} {'req/s':>6} {'x base':>6} {'rounds min-max':>15}"
        f" {'p50 ms':>7} {'x base':>6} {'p99 ms':>7} {'x base':>6} {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for candidate, result in results.items():
        p50, p99 = result.percentile(0.50), result.percentile(0.99)
        spread = f"{min(result.rates):.0f}-{max(result.rates):.0f}"
        print(
            f"{candidate!s:<14} {result.rate:>6.0f} {result.rate / base.rate:>6.2f} {spread:>15}"
            f" {p50:>7.1f} {p50 / base.percentile(0.5):>6.2f}"
            f" {p99:>7.1f} {p99 / base.percentile(0.99):>6.2f} {result.errors:>6}"
        )
    print(f"\n{'p50 ms by request':<18}" + "".join(f"{label:>14}" for label, _, _ in MIX))
    for candidate, result in results.items():
        print(
            f"{candidate!s:<18}"
            + "".join(f"{result.percentile(0.5, kind):>14.1f}" for kind in range(len(MIX)))
        )


def main() -> None:
    n = cores()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--candidate",
        type=Candidate.parse,
        action="append",
        help="class:WORKERSxTHREADS, repeatable; the first is the baseline "
        f"(default: sync:{2 * n + 1}x1, gthread:{max(2, n)}x4, gthread:{n + 1}x4)",
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="per window (default 2)")
    parser.add_argument("--rounds", type=int, default=5, help="windows per candidate (default 5)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent (default 8)")
    parser.add_argument("--processes", type=int, default=2, help="client processes (default 2)")
    parser.add_argument(
        "--close", action="store_true", help="Connection: close on every request, like a proxy"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    # sync as gunicorn advises; gthread as gunicorn.conf.py sets it, and with one more worker
    defaults = [Candidate("sync", 2 * n + 1, 1), Candidate("gthread", max(2, n), 4)]
    defaults.append(Candidate("gthread", n + 1, 4))
    candidates = args.candidate or list(dict.fromkeys(defaults))  # without repeats (1 core)
    print(
        f"cores: {n}; {args.connections} connections from {args.processes} client processes"
        f" ({'Connection: close' if args.close else 'keep-alive where the server allows'});"
        f" {args.rounds} rounds of {args.seconds:g} s per candidate; baseline: {candidates[0]};"
        f" load average before: {os.getloadavg()[0]:.1f}"
    )
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        with tempfile.TemporaryDirectory(prefix="floe-bench-") as tmp:
            sqlite = f"sqlite:///{Path(tmp) / 'floe.sqlite'}"
            report("SQLite", measure("SQLite", sqlite, candidates, args, pool))
        if not args.no_postgres:
            with postgres_database() as url:
                if url:
                    report("PostgreSQL", measure("PostgreSQL", url, candidates, args, pool))
    print(
        "\nx base: the figure divided by the baseline's, measured in the same run"
        " (req/s: higher is better; latency: lower is better)."
        f"\ntotal time: {time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
