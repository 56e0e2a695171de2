"""The service as production runs it: gunicorn with gunicorn.conf.py, over real HTTP."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import gunicorn  # noqa: F401  (a dependency: without it this test fails, it does not skip)

from floe.security_headers import SECURITY_HEADERS
from tests.helpers.browser import require

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "tallystack.example"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
LOGOUT_CSRF = re.compile(r'action="/app/logout">.*?' + CSRF.pattern, re.DOTALL)
START_TIMEOUT = 60  # seconds: two workers importing the app on a slow, shared machine


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def json(self) -> dict:
        return json.loads(self.body)

    def set_cookie(self, name: str) -> str:
        """The Set-Cookie header that sets ``name``."""
        for header in self.headers.get_all("Set-Cookie") or []:
            if header.startswith(f"{name}="):
                return header
        raise AssertionError(f"no Set-Cookie for {name}: {self.headers.get_all('Set-Cookie')}")


class Browser:
    """One visitor of http://tallystack.example, talking to gunicorn on loopback: a cookie jar."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, host: str = HOST
    ) -> Answer:
        headers = {"Host": host}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            answer = Answer(response.status, response.headers, response.read().decode())
        finally:
            conn.close()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return answer

    def csrf_token(self, path: str, pattern: re.Pattern[str] = CSRF) -> str:
        page = self.request("GET", path)
        assert page.status == 200, (path, page.status)
        match = pattern.search(page.body)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def me(self) -> dict:
        return self.request("GET", "/app/api/me").json()


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "dynamic", "db", "upgrade"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}"


@contextmanager
def gunicorn_service(env: dict[str, str], logs: Path) -> Iterator[int]:
    """gunicorn -c gunicorn.conf.py on a free loopback port, until /app/health answers."""
    # The port is bound here and handed over as a descriptor (GUNICORN_BIND=fd://N): no other
    # process on this shared machine can take it between choosing it and gunicorn binding it.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    env = {**env, "GUNICORN_BIND": f"fd://{listener.fileno()}", "GUNICORN_WORKERS": "2"}
    stderr_path = logs / "gunicorn.err"
    with open(logs / "gunicorn.out", "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "dynamic:create_app()"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=err,
            pass_fds=[listener.fileno()],
        )
    listener.close()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"gunicorn exited with {process.returncode}:\n{stderr_path.read_text()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"/app/health did not answer within {START_TIMEOUT} s; gunicorn's stderr:\n"
                    + stderr_path.read_text()
                )
            try:
                if Browser(port).request("GET", "/app/health").status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_sign_up_log_out_log_in_under_gunicorn(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "GUNICORN_")) and key not in ("WEB_CONCURRENCY", "PORT")
    }
    env["FLOE_SECRET_KEY"] = secrets.token_urlsafe(48)
    env["FLOE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'floe.sqlite'}"
    migrate(env)
    with gunicorn_service(env, tmp_path) as port:
        browser = Browser(port)
        assert browser.me() == {"authenticated": False}

        password = "correct horse battery"
        signed_up = browser.request(
            "POST",
            "/app/signup",
            form={
                "csrf_token": browser.csrf_token("/app/signup"),
                "email": "Ada@Example.com",
                "password": password,
                "confirm": password,
            },
        )
        assert signed_up.status == 302, signed_up.body
        assert signed_up.headers["Location"] == "/app/account"
        session = signed_up.set_cookie("session").lower()
        assert "; httponly" in session and "; samesite=lax" in session
        me = browser.me()
        assert me["authenticated"] is True and me["email"] == "ada@example.com"

        token = browser.csrf_token("/app/account", LOGOUT_CSRF)
        logged_out = browser.request("POST", "/app/logout", form={"csrf_token": token})
        assert logged_out.status == 302 and logged_out.headers["Location"] == "/"
        assert browser.me() == {"authenticated": False}

        logged_in = browser.request(
            "POST",
            "/app/login",
            form={
                "csrf_token": browser.csrf_token("/app/login"),
                "email": "ada@example.com",
                "password": password,
            },
        )
        assert logged_in.status == 302, logged_in.body
        me = browser.me()
        assert me["authenticated"] is True and me["email"] == "ada@example.com"

        assert Browser(port).request("GET", "/app/health", host="unknown.example").status == 404

    # The access log went to stdout, naming the tenant's host (gunicorn.conf.py's format).
    access_log = (tmp_path / "gunicorn.out").read_text()
    assert f'"{HOST}" "GET /app/api/me HTTP/1.1" 200' in access_log


# --- production, as ops/systemd/floe-dynamic.service runs it -------------------------------

UNIT = REPO / "ops" / "systemd" / "floe-dynamic.service"
CHECKOUT = "/srv/floe"  # where the unit expects the checkout
ORIGIN_HOST = "app.tallystack.example"  # the dynamic origin nginx serves


def unit_commands() -> dict[str, list[str]]:
    """ExecStartPre and ExecStart of the unit, run from this checkout instead of /srv/floe."""
    commands = {}
    for line in UNIT.read_text().splitlines():
        key, _, value = line.partition("=")
        if key in ("ExecStartPre", "ExecStart", "WorkingDirectory"):
            commands[key] = value.replace(CHECKOUT + "/.venv/bin", str(BIN)).split()
    assert commands.pop("WorkingDirectory") == [CHECKOUT]
    return commands


#: The proof of the edge the service is configured with (CloudFront's origin header).
EDGE_SECRET = secrets.token_urlsafe(48)


def production_env(tmp_path: Path) -> dict[str, str]:
    """What /etc/floe/dynamic.env holds (README), with throwaway values."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "GUNICORN_")) and key not in ("WEB_CONCURRENCY", "PORT")
    }
    env.update(
        FLOE_ENV="production",
        FLOE_SECRET_KEY=secrets.token_urlsafe(48),
        FLOE_DATABASE_URL=f"sqlite:///{tmp_path / 'floe.sqlite'}",
        FLOE_MAIL_FROM="Tallystack <hello@tallystack.example>",
        FLOE_TRUSTED_PROXIES="2",
        FLOE_EDGE_SECRET=EDGE_SECRET,
        FLOE_STRIPE_SECRET_KEY="sk_test_" + secrets.token_hex(12),
        FLOE_STRIPE_WEBHOOK_SECRET="whsec_" + secrets.token_hex(16),
        FLOE_BUILD_DIR=str(tmp_path / "build"),
    )
    return env


def via_nginx(port: int, path: str, forwarded_host: str | None) -> Answer:
    """A request as ops/nginx/floe-dynamic.conf passes it on: the origin's Host, and each
    forwarded header with nginx's own value appended to the edge's."""
    headers = {
        "Host": ORIGIN_HOST,
        "X-Forwarded-For": "203.0.113.9, 198.51.100.7",
        "X-Forwarded-Proto": "https, https",
        "X-Forwarded-Host": ORIGIN_HOST,
        "X-Floe-Edge-Secret": EDGE_SECRET,
    }
    if forwarded_host is not None:  # what the edge sent
        headers["X-Forwarded-Host"] = f"{forwarded_host}, {ORIGIN_HOST}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read().decode())
    finally:
        conn.close()


def test_the_systemd_unit_migrates_then_serves_in_production(tmp_path: Path) -> None:
    commands = unit_commands()
    assert commands["ExecStart"] == [
        str(BIN / "gunicorn"),
        "-c",
        "gunicorn.conf.py",
        "dynamic:create_app()",
    ]  # what gunicorn_service runs
    env = production_env(tmp_path)
    migrated = subprocess.run(
        commands["ExecStartPre"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    with gunicorn_service(env, tmp_path) as port:
        health = via_nginx(port, "/app/health", forwarded_host=HOST)
        assert health.status == 200, health.body
        assert health.json() == {"status": "ok", "database": "ok", "tenant": "freelancers"}
        assert health.headers["Cache-Control"] == "private, no-store"
        other = via_nginx(port, "/app/health", forwarded_host="teams.tallystack.example")
        assert other.json()["tenant"] == "agencies"
        # Straight to the origin, past the edge: no site named, no tenant.
        assert via_nginx(port, "/app/health", forwarded_host=None).status == 404
        # Production cookies go over HTTPS only.
        page = via_nginx(port, "/app/login", forwarded_host=HOST)
        assert page.status == 200
        assert "; secure" in page.set_cookie("session").lower()
    # The access log names the visitor (not the proxies) and the site, as ProxyFix saw them.
    access_log = (tmp_path / "gunicorn.out").read_text()
    assert "203.0.113.9 [" in access_log
    assert f'"{HOST}" "GET /app/health HTTP/1.1" 200' in access_log


def test_the_systemd_unit_is_one_systemd_reads_without_a_warning(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        require("systemd-analyze is not installed (apt-get install systemd)")
    unit = tmp_path / UNIT.name  # its programs must exist: this checkout's
    unit.write_text(UNIT.read_text().replace(CHECKOUT, str(REPO)))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


def test_production_refuses_to_start_without_its_settings(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["FLOE_SECRET_KEY"]
    migrated = subprocess.run(
        unit_commands()["ExecStartPre"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode != 0  # systemd does not start gunicorn at all
    assert "FLOE_SECRET_KEY must be set to a random value of 32 characters" in migrated.stderr


NGINX_CONF = REPO / "ops" / "nginx" / "floe-dynamic.conf"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def nginx_in_front(gunicorn_port: int, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """ops/nginx/floe-dynamic.conf in a throwaway nginx on loopback: its ports, its
    certificate and its upstream are this test's, everything else as written. Yields the
    (HTTPS, HTTP) ports once nginx answers."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        require("nginx is not installed (apt-get install nginx)")
    from werkzeug.serving import make_ssl_devcert

    tmp_path.mkdir()
    cert, key = make_ssl_devcert(str(tmp_path / "origin"), host=ORIGIN_HOST)
    https_port, http_port = free_port(), free_port()
    conf = NGINX_CONF.read_text()
    for old, new in {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{gunicorn_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen [::]:443 ssl;": "",
        f"/etc/letsencrypt/live/{ORIGIN_HOST}/fullchain.pem": cert,
        f"/etc/letsencrypt/live/{ORIGIN_HOST}/privkey.pem": key,
    }.items():
        assert conf.count(old) == 1, old
        conf = conf.replace(old, new)
    (tmp_path / "floe-dynamic.conf").write_text(conf)
    temp = " ".join(
        f"{kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    (tmp_path / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'nginx.err'};\nevents {{}}\n"
        + f"http {{ access_log off; {temp} uwsgi_temp_path {tmp_path / 'uwsgi'}; "
        + f"scgi_temp_path {tmp_path / 'scgi'}; include {tmp_path / 'floe-dynamic.conf'}; }}\n"
    )
    process = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise AssertionError(f"nginx exited: {process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield https_port, http_port
    finally:
        process.terminate()
        process.wait(timeout=20)


def through_nginx(
    port: int, path: str, headers: dict[str, str], form: dict[str, str] | None = None
) -> Answer:
    conn = http.client.HTTPSConnection(
        "127.0.0.1", port, timeout=30, context=ssl._create_unverified_context()
    )
    headers = {"Host": ORIGIN_HOST, **headers}
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(
            "GET" if form is None else "POST",
            path,
            body=None if form is None else urlencode(form),
            headers=headers,
        )
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read().decode())
    finally:
        conn.close()


def test_nginx_passes_the_site_and_the_visitor_on_to_the_service(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    for page in ("pricing", "pricing@annual"):  # the split-tested page of site/experiments.toml
        built = Path(env["FLOE_BUILD_DIR"]) / HOST / page / "index.html"
        built.parent.mkdir(parents=True)
        built.write_text("<!doctype html><title>Pricing</title>")
    migrated = subprocess.run(
        unit_commands()["ExecStartPre"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    with (
        gunicorn_service(env, tmp_path) as port,
        nginx_in_front(port, tmp_path / "nginx") as (https_port, http_port),
    ):
        # What the edge sends: the site's host, the visitor's address, HTTPS.
        edge = {
            "X-Forwarded-Host": HOST,
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Floe-Edge-Secret": EDGE_SECRET,
        }
        health = through_nginx(https_port, "/app/health", edge)
        assert health.status == 200, health.body
        assert health.json()["tenant"] == "freelancers"
        hsts = [SECURITY_HEADERS["Strict-Transport-Security"]]
        assert health.headers.get_all("Strict-Transport-Security") == hsts
        # A split test's first view carries the site's headers, HSTS once (not nginx's too).
        first = through_nginx(https_port, "/app/split/page/pricing/", edge)
        assert first.status == 200 and first.body == "<!doctype html><title>Pricing</title>"
        for name, value in SECURITY_HEADERS.items():
            assert first.headers.get_all(name) == [value], name
        # Straight to the origin, past the edge: no site is named.
        assert through_nginx(https_port, "/app/health", {}).status == 404
        # Nor by forging the edge's headers without its proof: the Host decides, and names none.
        forged = {key: value for key, value in edge.items() if key != "X-Floe-Edge-Secret"}
        assert through_nginx(https_port, "/app/health", forged).status == 404
        # The service knows the visitor came over HTTPS: a form posted without the page's
        # Referer is refused (Flask-WTF's check of HTTPS posts), one with it goes through.
        login = through_nginx(https_port, "/app/login", edge)
        edge["Cookie"] = login.set_cookie("session").split(";")[0]
        form = {"csrf_token": CSRF.search(login.body).group(1), "email": "a@b.example"}
        form["password"] = "not the password"
        refused = through_nginx(https_port, "/app/login", edge, form)
        assert refused.status == 400 and "Form expired" in refused.body
        edge["Referer"] = f"https://{HOST}/app/login"
        checked = through_nginx(https_port, "/app/login", edge, form)
        assert "Wrong email or password." in checked.body
        # Nothing but the service is served here, and plain HTTP goes to HTTPS.
        assert through_nginx(https_port, "/", edge).status == 404
        conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
        conn.request("GET", "/app/health", headers={"Host": ORIGIN_HOST})
        moved = conn.getresponse()
        assert moved.status == 301
        assert moved.headers["Location"] == f"https://{ORIGIN_HOST}/app/health"
        conn.close()
    # The service saw the visitor (not nginx or the edge) and the site.
    access_log = (tmp_path / "gunicorn.out").read_text()
    assert "203.0.113.9 [" in access_log
    assert f'"{HOST}" "GET /app/health HTTP/1.1" 200' in access_log
