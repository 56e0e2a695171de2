"""The service as production runs it: gunicorn with gunicorn.conf.py, over real HTTP."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
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
