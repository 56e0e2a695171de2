"""A database or Redis that is down or frozen, for real: a TCP proxy (tests/helpers/tcp_proxy.py)
stands between the service and the real PostgreSQL or Redis and is closed (every connection
reset) or frozen (accepts, never answers, as a server stopped with SIGSTOP). The service answers
503 with Retry-After in the tenant's theme, health and split tests degrade, and everything works
again once the proxy thaws. Requests go over real HTTP with a timeout: a safety net, so a hang
fails the test instead of stalling the suite."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from dynamic.core.db import db
from tests.conftest import (
    REPO,
    TENANT_HOST,
    _postgres_database,
    dispose_service,
    migrated_service,
)
from tests.helpers.accounts import PASSWORD, signup
from tests.helpers.browser import require
from tests.helpers.split import BROWSER, PRICING_HEADLINE
from tests.helpers.tcp_proxy import TcpProxy

#: Short bounds for the test (the defaults are a little longer): connect (psycopg's least),
#: statement (the client gives up one second after it), pool.
FAST = {
    "FLOE_DB_CONNECT_TIMEOUT": 2,
    "FLOE_DB_STATEMENT_TIMEOUT": 1.0,
    "FLOE_DB_POOL_TIMEOUT": 1.0,
    "FLOE_REDIS_TIMEOUT": 0.5,
}
#: Seconds any one request may take before the test fails (never reached when it passes).
SAFETY_NET = 20
BROWSER_AGENT = BROWSER["User-Agent"]
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CONTROL = "<!doctype html><title>CONTROL pricing</title>"


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def json(self) -> dict:
        return json.loads(self.body)

    def cookies(self) -> list[str]:
        return [
            name
            for header in self.headers.get_all("Set-Cookie") or []
            for name in SimpleCookie(header)
        ]


class Visitor:
    """One browser on the service over HTTP, keeping its cookies."""

    def __init__(self, port: int, timeout: float = SAFETY_NET) -> None:
        self.port, self.timeout = port, timeout
        self.jar: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        headers = {"Host": TENANT_HOST, "User-Agent": BROWSER_AGENT}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            answer = Answer(response.status, response.headers, response.read().decode())
        finally:
            conn.close()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.jar[name] = morsel.value
        return answer

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def login(self, email: str, password: str = PASSWORD) -> Answer:
        page = self.get("/app/login")
        token = CSRF.search(page.body).group(1)
        return self.request(
            "POST", "/app/login", {"csrf_token": token, "email": email, "password": password}
        )


def split_site(tmp_path: Path) -> dict[str, str]:
    """A site with the pricing page under test and a build output with both variants."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "site", site)
    (site / "experiments.toml").write_text(PRICING_HEADLINE)
    build = tmp_path / "build" / TENANT_HOST
    for name, title in (("pricing", "CONTROL"), ("pricing@annual-first", "VARIANT")):
        (build / name).mkdir(parents=True)
        (build / name / "index.html").write_text(f"<!doctype html><title>{title} pricing</title>")
    return {"FLOE_SITE_DIR": str(site), "FLOE_BUILD_DIR": str(tmp_path / "build")}


@dataclass
class Running:
    app: object
    port: int


def serve(app) -> Iterator[Running]:
    """``app`` on a loopback port of its own, threaded as gunicorn's gthread workers are."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Running(app, server.port)
    finally:
        server.shutdown()
        thread.join(timeout=SAFETY_NET)


@pytest.fixture
def postgres_proxy() -> Iterator[TcpProxy]:
    try:
        proxy = TcpProxy(5432)
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            pass
    except OSError as error:
        require(f"PostgreSQL does not answer at 127.0.0.1:5432 ({error})")
    with proxy:
        yield proxy


@pytest.fixture
def service(postgres_proxy: TcpProxy, tmp_path: Path) -> Iterator[Running]:
    """The service on a PostgreSQL database of its own, reached through ``postgres_proxy``."""
    for url in _postgres_database():
        proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{postgres_proxy.port}")
        app = migrated_service(proxied, **FAST, **split_site(tmp_path))
        try:
            client = app.test_client()
            assert signup(client, email="ada@example.com").status_code == 302
            yield from serve(app)
        finally:
            postgres_proxy.thaw()
            dispose_service(app)


def assert_unavailable_page(answer: Answer) -> None:
    """A 503 to retry, in the tenant's theme (its site's stylesheet and name)."""
    assert answer.status == 503, answer.body
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "Temporarily unavailable" in answer.body
    assert 'rel="stylesheet"' in answer.body and "Tallystack" in answer.body


def assert_unavailable_json(answer: Answer) -> None:
    assert answer.status == 503, answer.body
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.headers["Content-Type"] == "application/json"


def assert_degraded(service: Running, user: Visitor) -> None:
    """What a visitor gets while the database does not answer."""
    health = Visitor(service.port).get("/app/health")
    assert_unavailable_json(health)
    assert health.json()["database"] in ("timeout", "unreachable")
    assert_unavailable_page(Visitor(service.port).login("ada@example.com"))
    assert_unavailable_page(user.get("/app/account"))
    assert_unavailable_json(user.get("/app/api/me"))
    # First views of a page under test: the control as built, no cookie that pins a variant.
    first = Visitor(service.port).get("/app/split/page/pricing/")
    assert (first.status, first.body) == (200, CONTROL)
    assert first.cookies() == []
    assign = Visitor(service.port).get("/app/split/assign?exp=pricing-headline")
    assert assign.status == 200 and assign.json()["variant"] is None
    assert assign.cookies() == []


def assert_recovered(service: Running, user: Visitor) -> None:
    health = Visitor(service.port).get("/app/health")
    assert health.status == 200 and health.json()["database"] == "ok"
    assert user.get("/app/account").status == 200
    assert user.get("/app/api/me").json()["authenticated"] is True
    assert Visitor(service.port).login("ada@example.com").status == 302
    first = Visitor(service.port).get("/app/split/page/pricing/")
    assert first.status == 200
    assert any(name.startswith("floe_x_pricing-headline_") for name in first.cookies())


def logged_in(service: Running) -> Visitor:
    user = Visitor(service.port)
    assert user.login("ada@example.com").status == 302
    assert user.get("/app/api/me").json()["authenticated"] is True
    return user


def test_a_frozen_database_gets_503s_and_control_pages_then_recovers(
    service: Running, postgres_proxy: TcpProxy
) -> None:
    user = logged_in(service)
    postgres_proxy.freeze()
    assert_degraded(service, user)
    postgres_proxy.thaw()
    assert_recovered(service, user)


def test_a_database_that_is_down_gets_503s_then_recovers(
    service: Running, postgres_proxy: TcpProxy
) -> None:
    user = logged_in(service)
    postgres_proxy.close()
    assert_degraded(service, user)
    postgres_proxy.thaw()
    assert_recovered(service, user)


def test_a_connection_that_freezes_mid_transaction_is_discarded(
    service: Running, postgres_proxy: TcpProxy
) -> None:
    with service.app.app_context():
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
            postgres_proxy.freeze()
            with pytest.raises(OperationalError, match="did not answer within 2 s"):
                connection.execute(text("SELECT 2"))
            assert connection.invalidated
        postgres_proxy.thaw()
        with db.engine.connect() as connection:  # a new connection: the pool dropped the old
            assert connection.execute(text("SELECT 3")).scalar() == 3


def test_a_slow_statement_is_cancelled_by_the_server(service: Running) -> None:
    with service.app.app_context(), db.engine.connect() as connection:
        with pytest.raises(OperationalError, match="statement timeout"):
            connection.execute(text("SELECT pg_sleep(5)"))
        connection.rollback()
        assert connection.execute(text("SELECT 1")).scalar() == 1  # still usable


def test_a_locked_sqlite_database_gets_a_503_after_its_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "floe.sqlite"
    app = migrated_service(f"sqlite:///{path}", **FAST)
    try:
        assert signup(app.test_client(), email="ada@example.com").status_code == 302
        for running in serve(app):
            writer = sqlite3.connect(path, isolation_level=None)
            writer.execute("BEGIN EXCLUSIVE")  # another process writing, holding the lock
            try:
                assert_unavailable_page(Visitor(running.port).login("ada@example.com"))
            finally:
                writer.execute("ROLLBACK")
                writer.close()
            assert Visitor(running.port).login("ada@example.com").status == 302
    finally:
        dispose_service(app)


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    import redis

    try:
        redis.Redis(port=6379, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as error:
        require(f"Redis does not answer at 127.0.0.1:6379 ({error})")
    with TcpProxy(6379) as proxy:
        yield proxy


def test_logins_go_on_while_redis_is_frozen(redis_proxy: TcpProxy, tmp_path: Path) -> None:
    prefix = f"floe-test-{uuid.uuid4().hex[:12]}"
    app = migrated_service(
        f"sqlite:///{tmp_path / 'floe.sqlite'}",
        **FAST,
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{redis_proxy.port}/0",
        RATELIMIT_KEY_PREFIX=prefix,
    )
    try:
        assert signup(app.test_client(), email="ada@example.com").status_code == 302
        for running in serve(app):
            assert Visitor(running.port).login("ada@example.com").status == 302
            redis_proxy.freeze()
            # A short safety net: without its own timeouts the Redis client waits far longer.
            for _ in range(3):
                visitor = Visitor(running.port, timeout=5)
                assert visitor.login("ada@example.com").status == 302
            redis_proxy.thaw()
            assert Visitor(running.port).login("ada@example.com").status == 302
    finally:
        dispose_service(app)
        import redis

        client = redis.Redis(port=6379, socket_timeout=2)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
