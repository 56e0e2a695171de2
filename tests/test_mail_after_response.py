"""A reset request sends its mail only after the whole response has gone, so the request does
the same work for a known and an unknown address; on SQLite and PostgreSQL, through the test
client and a real WSGI server."""

from __future__ import annotations

import http.client
import logging
import re
import threading
import urllib.parse

import pytest
from flask import Flask
from werkzeug.serving import make_server

from dynamic.accounts.models import User
from dynamic.core import mail
from dynamic.core.db import db
from dynamic.core.mail import MailError, Message
from tests.conftest import TENANT_HOST
from tests.helpers.accounts import HOST, csrf_token, login, logout, post_form, signup

KNOWN = "ada@example.com"
UNKNOWN = "nobody@example.com"
BOSS_PASSWORD = "the boss's passphrase"


class RecordingMailer:
    """Writes every send into ``events``, the test's log of what happened in which order."""

    def __init__(self, events: list[str], error: Exception | None = None) -> None:
        self.events = events
        self.error = error

    def send(self, message: Message) -> None:
        self.events.append(f"mail to {message.to}")
        if self.error is not None:
            raise self.error


@pytest.fixture
def account(app):
    client = app.test_client()
    signup(client)
    logout(client)
    return app


def use_mailer(app, mailer) -> None:
    app.extensions[mail.EXTENSION_KEY] = mailer


def ask_for_reset(client, email: str, events: list[str]):
    """Post the reset form as a server would, noting when the body is complete and closed."""
    token = csrf_token(client, "/app/reset")
    response = client.post(
        "/app/reset", headers=HOST, data={"csrf_token": token, "email": email}, buffered=False
    )
    body = response.get_data()  # the whole body, produced
    events.append("body complete")
    response.close()  # what the server does after writing the last byte
    events.append("closed")
    return response, body


def test_the_reset_mail_goes_after_the_response(account) -> None:
    events: list[str] = []
    use_mailer(account, RecordingMailer(events))
    response, _ = ask_for_reset(account.test_client(), KNOWN, events)
    assert response.status_code == 302 and response.headers["Location"] == "/app/login"
    assert events == ["body complete", f"mail to {KNOWN}", "closed"]


def test_an_unknown_address_takes_the_same_path_without_mail(account) -> None:
    events: dict[str, list[str]] = {KNOWN: [], UNKNOWN: []}
    answers = {}
    for email in (KNOWN, UNKNOWN):
        use_mailer(account, RecordingMailer(events[email]))
        client = account.test_client()
        response, body = ask_for_reset(client, email, events[email])
        page = client.get("/app/login", headers=HOST).get_data(as_text=True)
        flashed = re.search(r"If an account uses [^<]*", page).group(0)
        answers[email] = (response.status_code, response.headers["Location"], body, flashed)
    assert answers[KNOWN][:3] == answers[UNKNOWN][:3]
    assert answers[KNOWN][3].replace(KNOWN, UNKNOWN) == answers[UNKNOWN][3]
    assert events[KNOWN] == ["body complete", f"mail to {KNOWN}", "closed"]
    assert events[UNKNOWN] == ["body complete", "closed"]


def test_a_mail_failure_after_the_response_is_logged(account, caplog) -> None:
    events: list[str] = []
    use_mailer(account, RecordingMailer(events, MailError("SES refused it (Throttling)")))
    with caplog.at_level(logging.ERROR, logger="dynamic.mail"):
        response, _ = ask_for_reset(account.test_client(), KNOWN, events)
    assert response.status_code == 302  # the visitor saw the usual answer
    assert events == ["body complete", f"mail to {KNOWN}", "closed"]
    [record] = [r for r in caplog.records if r.name == "dynamic.mail"]
    assert record.levelno == logging.ERROR
    assert f"mail to {KNOWN} after POST /app/reset failed" in record.getMessage()
    assert "Throttling" in record.getMessage()


def test_the_admins_reset_button_still_says_when_the_mail_failed(account) -> None:
    """The admin is told at once (the mail goes inside the request): nothing to hide there."""
    events: list[str] = []
    with account.app_context():
        admin = User(email="boss@example.com", tenant="freelancers", password_hash="")
        admin.set_password(BOSS_PASSWORD)
        admin.is_admin = True
        db.session.add(admin)
        db.session.commit()
        ada = User.find(KNOWN).id
    client = account.test_client()
    assert login(client, email="boss@example.com", password=BOSS_PASSWORD).status_code == 302
    use_mailer(account, RecordingMailer(events, MailError("no connection")))
    page = f"/app/admin/users/{ada}"
    response = post_form(client, page, f"{page}/reset")
    assert response.status_code == 302
    shown = client.get(response.headers["Location"], headers=HOST).get_data(as_text=True)
    assert f"Could not send the mail to {KNOWN}" in shown


def test_a_failed_request_sends_no_queued_mail(caplog) -> None:
    """A request that fails after queueing a mail (say its commit failed) sends nothing."""
    app = Flask(__name__)
    app.config.update(FLOE_MAILER="console")
    mail.init_app(app)
    events: list[str] = []
    use_mailer(app, RecordingMailer(events))

    @app.post("/fails")
    def fails():
        mail.send_after_response("ada@example.com", "Hello", "Text")
        raise RuntimeError("the database went away")

    @app.post("/works")
    def works():
        mail.send_after_response("ada@example.com", "Hello", "Text")
        return "ok"

    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="dynamic.mail"):
        assert client.post("/fails", buffered=True).status_code == 500
    assert events == []
    assert "1 mail(s) of POST /fails not sent: the request failed" in caplog.text
    assert client.post("/works", buffered=True).status_code == 200
    assert events == ["mail to ada@example.com"]


def test_a_real_server_has_sent_the_whole_response_before_the_mail(account) -> None:
    """Through Werkzeug's threaded server: the mailer waits (at most 10 s) until the client has
    read the whole response. Were the mail sent inside the request, the client would get
    nothing until the mailer gave up, and the mailer would see no response read."""
    response_read = threading.Event()
    seen: list[bool] = []

    class WaitingMailer:
        def send(self, message: Message) -> None:
            seen.append(response_read.wait(timeout=10))

    use_mailer(account, WaitingMailer())
    server = make_server("127.0.0.1", 0, account, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        connection.request("GET", "/app/reset", headers={"Host": TENANT_HOST})
        form = connection.getresponse()
        page = form.read().decode()
        cookie = "; ".join(c.split(";", 1)[0] for c in form.headers.get_all("Set-Cookie"))
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, "email": KNOWN})
        connection.request(
            "POST",
            "/app/reset",
            body=body,
            headers={
                "Host": TENANT_HOST,
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 302
        response_read.set()
        connection.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    assert seen == [True]
