"""Reset-request bench: does asking for a reset link take as long for an address that has an
account as for one that has none? Under gunicorn, over real HTTP.

    .venv/bin/python bench/reset_requests.py                 # about 30 seconds
    .venv/bin/python bench/reset_requests.py --requests 200 --no-postgres

One gunicorn with the production settings (gunicorn.conf.py, FLOE_ENV=production, mail logged
by the console mailer, which takes a few milliseconds: roughly what a quick mail service
would) on a temporary database: SQLite, then PostgreSQL at 127.0.0.1:5432 when it answers. One
account is signed up; then POST /app/reset is sent for its address and for an unknown one, in
turns, each on a new connection, timed from sending the request to having read the whole
response. The unknown address is the baseline: a ratio near 1.00 says an observer cannot tell
them apart by the time of the answer (the mail goes after the response).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.service import (
    CSRF,
    HOST,
    Candidate,
    Server,
    cores,
    migrate,
    postgres_database,
    session_cookie,
    sign_up,
)


def production_env(database_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLOE_"))},
        "FLOE_ENV": "production",
        "FLOE_MAILER": "console",
        "FLOE_MAIL_FROM": "Floe bench <bench@example.com>",
        "FLOE_STRIPE_SECRET_KEY": "sk_test_bench",
        "FLOE_STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "FLOE_SECRET_KEY": secrets.token_urlsafe(48),
        "FLOE_DATABASE_URL": database_url,
        "FLOE_RESET_LIMIT": "1000000 per hour",  # the bench asks far more often than anyone
    }


def account_email(port: int) -> str:
    """The address of the account signed up for the bench."""
    cookie = sign_up(port)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "GET", "/app/api/me", headers={"Host": HOST, "User-Agent": "floe-bench", "Cookie": cookie}
    )
    return json.loads(conn.getresponse().read())["email"]


def ask(port: int, email: str) -> float:
    """Seconds from sending a reset request for ``email`` to having its whole answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/app/reset", headers={"Host": HOST, "User-Agent": "floe-bench"})
    form = conn.getresponse()
    token = CSRF.search(form.read().decode())[1]
    cookie = session_cookie(form)
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = urlencode({"csrf_token": token, "email": email})
    headers = {
        "Host": HOST,
        "User-Agent": "floe-bench",
        "Cookie": cookie,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    started = time.perf_counter()
    conn.request("POST", "/app/reset", body=body, headers=headers)
    answer = conn.getresponse()
    answer.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if answer.status != 302:
        raise SystemExit(f"POST /app/reset answered {answer.status}, expected 302")
    return elapsed


def run(database: str, url: str, requests: int) -> None:
    env = production_env(url)
    migrate(env)
    with tempfile.TemporaryDirectory(prefix="floe-bench-logs-") as logs:
        server = Server(Candidate("gthread", max(2, cores()), 4), env, Path(logs))
        try:
            server.wait_ready()
            known = account_email(server.port)
            unknown = "nobody-" + known
            times: dict[str, list[float]] = {known: [], unknown: []}
            for _ in range(10):  # warm up
                ask(server.port, known), ask(server.port, unknown)
            for i in range(requests):
                order = (known, unknown) if i % 2 else (unknown, known)
                for email in order:
                    times[email].append(ask(server.port, email))
        finally:
            server.stop()
    base = statistics.median(times[unknown])
    print(f"\n{database}: {requests} requests each")
    print(f"  {'address':<16} {'p50 ms':>8} {'p90 ms':>8} {'x base':>7}")
    for label, email in (("unknown (base)", unknown), ("known", known)):
        values = sorted(times[email])
        p50, p90 = statistics.median(values), values[int(0.9 * len(values))]
        print(f"  {label:<16} {p50 * 1000:8.2f} {p90 * 1000:8.2f} {p50 / base:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=150, help="per address (default 150)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="floe-bench-") as tmp:
        run("SQLite", f"sqlite:///{Path(tmp) / 'floe.sqlite'}", args.requests)
    if not args.no_postgres:
        with postgres_database() as url:
            if url:
                run("PostgreSQL", url, args.requests)
    print("\nx base: the known address's median divided by the unknown one's, same run.")


if __name__ == "__main__":
    sys.exit(main())
