"""Gunicorn settings for the dynamic service in production.

    gunicorn -c gunicorn.conf.py "dynamic:create_app()"

Overrides from the environment: GUNICORN_WORKERS (or WEB_CONCURRENCY), GUNICORN_THREADS,
GUNICORN_BIND (or PORT), GUNICORN_CONTROL_SOCKET; any other setting through gunicorn's own
GUNICORN_CMD_ARGS, e.g. GUNICORN_CMD_ARGS="--timeout 60". The app reads its FLOE_* variables.

Measured 2026-11-21 with bench/service.py, machine: 2 cores, shared (load average 7 to 10 from
other work during the runs). 8 connections; median req/s of 5 rounds of 2 s; p50/p99 over all
rounds; "x" is the ratio to the baseline, sync with 2 x cores + 1 workers, in the same run.

                  keep-alive clients             Connection: close (nginx's default upstream)
                  req/s     x  p50 ms  p99 ms    req/s     x  p50 ms  p99 ms
  SQLite
    sync 5x1        680  1.00     9.1    30.5      468  1.00    12.4    32.2
    gthread 2x4    1202  1.77     5.4    28.0      570  1.22     8.2    39.7
    gthread 3x4    1092  1.61     5.4    33.8      701  1.50     7.9    40.9
  PostgreSQL
    sync 5x1        716  1.00     9.5    32.6      418  1.00    16.2    39.7
    gthread 2x4    1098  1.53     7.0    34.5      604  1.44     9.8    68.5
    gthread 3x4     982  1.37     4.7    46.8      628  1.50    11.3    58.4

In 7 runs that day (these and, earlier, more candidates), gthread 2x4 served more requests
than sync 5x1 in 13 of 14 tables (1.12x to 2.43x; once 0.62x), at a lower median latency in
the same 13; its p99 was 0.84x to 1.53x sync's with keep-alive, 0.97x to 1.72x with a
connection per request. 2x4 and 3x4 are within the noise of each other (2x4 ahead in 7 of 8
keep-alive tables, in 3 of 6 close tables): one worker per core it is.
"""

from __future__ import annotations

import os


def _cores() -> int:
    """CPUs this process may run on (the affinity mask, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _int(*names: str, default: int) -> int:
    """The first of the environment variables ``names`` that is set, as a positive integer."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"{name}={value!r}: expected a whole number of 1 or more")
            return int(value)
    return default


def _bind() -> list[str]:
    """GUNICORN_BIND (comma-separated addresses), else PORT on every interface, else loopback."""
    if os.environ.get("GUNICORN_BIND", "").strip():
        return [address.strip() for address in os.environ["GUNICORN_BIND"].split(",")]
    if os.environ.get("PORT", "").strip():
        # Platforms that hand out PORT (Heroku, Render, Fly…) route to the container from outside.
        return [f"0.0.0.0:{_int('PORT', default=8000)}"]
    # A proxy on the same host (nginx) talks to loopback; nothing else should.
    return ["127.0.0.1:8000"]


bind = _bind()

# gthread, one worker per core (at least two, so one can restart while the other serves) with
# four threads each: faster than sync with 2 x cores + 1 workers (figures above). A thread that
# waits, on PostgreSQL or on SES sending a sign-up's mail, leaves the core to another, where a
# sync worker would sit idle; keep-alive connections are kept (sync closes each one). The app
# must stay thread-safe: per-request state in flask.g and Flask-SQLAlchemy's scoped session,
# nothing mutable at module level. Fewer processes also keep the in-memory rate limits
# (memory://, per process) nearer their setting; several hosts need FLOE_RATELIMIT_STORAGE_URL.
worker_class = "gthread"
workers = _int("GUNICORN_WORKERS", "WEB_CONCURRENCY", default=max(2, _cores()))
threads = _int("GUNICORN_THREADS", default=4)

# A worker whose main loop is silent this long is killed and replaced. With gthread a slow
# request in a thread does not trip it: the database and mail clients need their own timeouts.
timeout = 30
# On SIGTERM, requests in flight get this long to finish.
graceful_timeout = 20
# Idle keep-alive connections are closed after this long. A proxy that keeps upstream
# connections must drop idle ones sooner, or a request can meet a closing one (a 502): behind
# one with a longer idle timeout (an AWS ALB's is 60 s), raise this above it.
keepalive = 5

# Not preloaded: each worker imports the app and creates its own SQLAlchemy engine after the
# fork, so no pooled database connection can ever be shared by two processes (the classic
# corrupted-protocol bug), without an engine.dispose(close=False) hook to remember; and
# `kill -HUP` reloads new code. The price is one app import per worker at start (~1 s).
preload_app = False

# Logs to stdout/stderr for the process manager (systemd, Docker) to collect. The access log
# names the tenant's host and the time taken (ms). Both %(h)s and the host come from the WSGI
# environ after the app's ProxyFix rewrote it in place: behind FLOE_TRUSTED_PROXIES proxies,
# the visitor's address and the tenant's domain, not the proxy's.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(t)s "%({http_host}e)s" "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'

# Forwarded headers are the app's job: Werkzeug's ProxyFix believes X-Forwarded-For/-Proto/-Host
# from exactly FLOE_TRUSTED_PROXIES proxies (dynamic/core/tenancy.py). Gunicorn's own handling would
# be a second, independent trust list (it believes X-Forwarded-Proto from 127.0.0.1 by
# default), so it trusts no one here and never changes the scheme itself.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}

# Gunicorn 25+ opens a control socket (for gunicornc) at one path per user by default
# ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl): two services of one user would
# take it from each other. Off unless GUNICORN_CONTROL_SOCKET names a path for this service.
if os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip():
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"].strip()
else:
    control_socket_disable = True

# The workers' heartbeat files on tmpfs: a container's /tmp on overlayfs can stall them.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"


def on_starting(server) -> None:
    """Check the service's settings in the master, before any worker starts: a bad one stops
    gunicorn with one short message listing every problem (``Error: …``, exit status 1), not
    a traceback per worker. dynamic/core/config.py is loaded by its path, not imported: the master
    must not import the app, or workers forked after ``kill -HUP`` would run the old code."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dynamic", "core", "config.py")
    spec = importlib.util.spec_from_file_location("floe_settings_check", path)
    settings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(settings)
    settings.load_config(os.environ, os.path.join(os.getcwd(), "instance"))  # ConfigError
