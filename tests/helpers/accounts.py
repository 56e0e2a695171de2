"""Acting as a visitor of the dynamic service through Flask's test client (flaskr's
AuthActions, grown a little): forms with their CSRF tokens, and the mails sent."""

from __future__ import annotations

import re

from tests.conftest import TENANT_HOST

HOST = {"Host": TENANT_HOST}
PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="(?:\w+-)?csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, path: str, host: str = TENANT_HOST) -> str:
    page = client.get(path, headers={"Host": host}).get_data(as_text=True)
    match = TOKEN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, page: str, action: str | None = None, host: str = TENANT_HOST, **data):
    """Submit a form of ``page`` (to ``action``, default the page) with its CSRF token."""
    token = csrf_token(client, page, host)
    prefix = next((key.split("-")[0] + "-" for key in data if "-" in key), "")
    data[prefix + "csrf_token"] = token
    # buffered: read the whole body, then close it, as a server does (mail queued for after the
    # response goes then, see dynamic.core.mail.send_after_response)
    return client.post(action or page, headers={"Host": host}, data=data, buffered=True)


def signup(client, email="ada@example.com", password=PASSWORD, next_="", host=TENANT_HOST):
    token = csrf_token(client, "/app/signup", host)
    return client.post(
        f"/app/signup{next_}",
        headers={"Host": host},
        data={"csrf_token": token, "email": email, "password": password, "confirm": password},
    )


def login(client, email="ada@example.com", password=PASSWORD, remember=False, next_=""):
    token = csrf_token(client, "/app/login")
    data = {"csrf_token": token, "email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post(f"/app/login{next_}", headers=HOST, data=data)


def logout(client):
    return post_form(client, "/app/account", "/app/logout")


def me(client) -> dict:
    return client.get("/app/api/me", headers=HOST).get_json()


def outbox(app) -> list:
    return list(app.extensions["floe.mailer"].outbox)


def last_link(app, to: str) -> str:
    """The path of the link in the newest mail to ``to``."""
    for message in reversed(outbox(app)):
        if message.to == to:
            return re.search(r"https?://[^/\s]+(/\S+)", message.text).group(1)
    raise AssertionError(f"no mail to {to}; sent: {[m.to for m in outbox(app)]}")
