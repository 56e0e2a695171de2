"""Sign-up, login, remember-me and logout, on SQLite and PostgreSQL, and the attacks on them."""

from __future__ import annotations

import re

import pytest

from dynamic import create_app
from tests.conftest import REDIS_URL, TENANT_HOST, dispose_service, migrated_service
from tests.helpers.accounts import HOST, PASSWORD, login, logout, me, signup


def test_signup_login_logout(client) -> None:
    assert me(client) == {"authenticated": False}
    response = signup(client, email="Ada@Example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/app/account"
    assert me(client)["email"] == "ada@example.com"
    assert logout(client).status_code == 302
    assert me(client) == {"authenticated": False}
    assert login(client, email="ADA@example.com").status_code == 302
    assert me(client)["authenticated"] is True


def test_duplicate_signup_and_bad_logins_are_refused(client) -> None:
    signup(client)
    logout(client)
    again = signup(client, email="ADA@example.com")
    assert again.status_code == 400 and "An account with this email exists" in again.get_data(
        as_text=True
    )
    wrong = login(client, password="wrong password!")
    unknown = login(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.get_data(as_text=True).count("Wrong email or password.") == 1
    assert "Wrong email or password." in unknown.get_data(as_text=True)  # the same answer
    assert me(client) == {"authenticated": False}


def test_remember_me_outlives_the_session(app) -> None:
    client = app.test_client()
    signup(client)
    logout(client)
    login(client, remember=True)
    remember = client.get_cookie("remember_token", domain=TENANT_HOST)
    assert remember is not None and remember.http_only
    fresh = app.test_client()  # a new browser session, keeping only the remember cookie
    fresh.set_cookie("remember_token", remember.value, domain=TENANT_HOST)
    assert me(fresh)["authenticated"] is True


def test_post_without_csrf_token_is_refused(client) -> None:
    response = client.post(
        "/app/signup",
        headers=HOST,
        data={"email": "eve@example.com", "password": "x" * 12, "confirm": "x" * 12},
    )
    assert response.status_code == 400
    assert me(client) == {"authenticated": False}


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\\\evil.example", "javascript:alert(1)"],
)
def test_next_never_leaves_the_site(client, target: str) -> None:
    response = signup(client, next_=f"?next={target}")
    assert response.status_code == 302 and response.headers["Location"] == "/app/account"


def test_next_within_the_site_is_followed(client) -> None:
    response = signup(client, next_="?next=/app/api/me")
    assert response.headers["Location"] == "/app/api/me"


def test_eleventh_quick_failed_login_is_rate_limited(client) -> None:
    signup(client)
    logout(client)
    statuses = [login(client, password=f"wrong {i} password").status_code for i in range(11)]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429


def test_forged_or_tampered_session_cookie_is_anonymous(app) -> None:
    client = app.test_client()
    signup(client)
    session = client.get_cookie("session", domain=TENANT_HOST)
    assert me(client)["authenticated"] is True
    tampered = session.value[:-2] + ("A" if session.value[-2] != "A" else "B") + session.value[-1]
    other = app.test_client()
    other.set_cookie("session", tampered, domain=TENANT_HOST)
    assert me(other) == {"authenticated": False}
    forged = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "another key"})
    with forged.test_request_context():
        from flask import session as flask_session

        flask_session["_user_id"] = "1:guess"
        cookie = forged.session_interface.get_signing_serializer(forged).dumps(dict(flask_session))
    other.set_cookie("session", cookie, domain=TENANT_HOST)
    assert me(other) == {"authenticated": False}


WORKER = """
import json, sys
from dynamic import create_app
from tests.helpers.accounts import login, signup
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "RATELIMIT_STORAGE_URI": sys.argv[2],
                  "RATELIMIT_KEY_PREFIX": sys.argv[3]})
if sys.argv[4] == "signup":
    signup(app.test_client())
tries = [login(app.test_client(), password=f"wrong {i}").status_code for i in range(int(sys.argv[5]))]
print(json.dumps(tries))
"""


def test_workers_share_the_login_limit_through_redis(app, database_url, redis_prefix) -> None:
    """Two worker processes count failed logins together when the limit lives in Redis."""
    import json
    import subprocess
    import sys

    def worker(first: bool, tries: int) -> list[int]:
        args = [database_url, REDIS_URL, redis_prefix, "signup" if first else "-", str(tries)]
        done = subprocess.run(
            [sys.executable, "-c", WORKER, *args], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    assert worker(True, 5) == [400] * 5
    assert worker(False, 6) == [400] * 5 + [429]  # the 11th failure, in another process


def test_logout_ends_a_remembered_login(app) -> None:
    client = app.test_client()
    signup(client)
    logout(client)
    login(client, remember=True)
    assert client.get_cookie("remember_token", domain=TENANT_HOST) is not None
    logout(client)
    assert client.get_cookie("remember_token", domain=TENANT_HOST) is None
    assert me(client) == {"authenticated": False}
    assert client.get("/app/account", headers=HOST).status_code == 302


def test_a_remembered_login_lasts_beyond_its_first_request(app) -> None:
    client = app.test_client()
    signup(client)
    logout(client)
    login(client, remember=True)
    remember = client.get_cookie("remember_token", domain=TENANT_HOST).value
    restarted = app.test_client()  # the browser restarted: only the remember cookie is left
    restarted.set_cookie("remember_token", remember, domain=TENANT_HOST)
    for _ in range(3):
        assert me(restarted)["authenticated"] is True
    assert restarted.get("/app/account", headers=HOST).status_code == 200


def test_a_next_with_a_line_break_is_refused(client) -> None:
    response = signup(client, next_="?next=/app/%0d%0aSet-Cookie:%20x=1")
    assert response.status_code == 302 and response.headers["Location"] == "/app/account"


def test_sign_ups_are_rate_limited(app) -> None:
    app.config["FLOE_SIGNUP_LIMIT"] = "2 per hour"
    client = app.test_client()
    statuses = [signup(client, email=f"user{i}@example.com").status_code for i in range(3)]
    assert statuses == [302, 302, 429]


def test_forms_work_over_https_where_the_referer_is_checked(app) -> None:
    """Flask-WTF checks the Referer of HTTPS posts: the pages must let browsers send it."""
    client = app.test_client()
    base = f"https://{TENANT_HOST}"
    page = client.get("/app/signup", base_url=base)
    assert page.headers["Referrer-Policy"] == "same-origin"  # sent to ourselves, nowhere else
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    data = {
        "csrf_token": token,
        "email": "ada@example.com",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    refused = client.post("/app/signup", base_url=base, data=data)
    assert refused.status_code == 400  # no Referer: what a no-referrer policy would cause
    accepted = client.post(
        "/app/signup", base_url=base, data=data, headers={"Referer": f"{base}/app/signup"}
    )
    assert accepted.status_code == 302


def test_login_works_while_redis_is_down(database_url) -> None:
    app = migrated_service(database_url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    client = app.test_client()
    assert signup(client).status_code == 302
    logout(client)
    assert login(client).status_code == 302
    dispose_service(app)


def test_limits_hold_after_a_service_created_without_them(database_url: str) -> None:
    """A service made with RATELIMIT_ENABLED=False (a test, a CLI run) leaves the next one in
    the process limited: Flask-Limiter's single limiter must not carry the setting over."""
    unlimited = migrated_service(database_url, RATELIMIT_ENABLED=False)
    dispose_service(unlimited)
    service = migrated_service(database_url, FLOE_SIGNUP_LIMIT="1 per hour")
    try:
        client = service.test_client()
        statuses = [signup(client, email=f"user{i}@example.com").status_code for i in range(2)]
        assert statuses == [302, 429]
    finally:
        dispose_service(service)


def test_each_service_counts_under_its_own_settings(database_url: str, redis_prefix: str) -> None:
    """Two services in one process, on one Redis with different key prefixes and strategies:
    the second counts under its own prefix, not the first one's (Flask-Limiter keeps an app's
    settings on its Limiter, so each app has one of its own)."""
    import redis

    first = migrated_service(
        database_url,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=f"{redis_prefix}-first",
        RATELIMIT_STRATEGY="fixed-window",
    )
    second = migrated_service(
        database_url,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=f"{redis_prefix}-second",
        FLOE_SIGNUP_LIMIT="1 per hour",
    )
    try:
        client = second.test_client()
        statuses = [signup(client, email=f"user{i}@example.com").status_code for i in range(2)]
        assert statuses == [302, 429]
        keys = redis.Redis.from_url(REDIS_URL).keys(f"*{redis_prefix}*")
        assert keys and all(f"{redis_prefix}-second".encode() in key for key in keys), keys
    finally:
        dispose_service(first)
        dispose_service(second)
