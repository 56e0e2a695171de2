"""The mailer: the console mailer, and SES over real HTTP against a local moto server.

No test reaches the network: every AWS client points at moto on 127.0.0.1, credentials are
fake, and the instance-metadata lookup is disabled.
"""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from typing import Any

import boto3
import pytest
from flask import Flask

from dynamic.core import mail
from dynamic.core.config import ConfigError
from dynamic.core.mail import ConsoleMailer, MailError, Message, SESMailer
from tests.conftest import AWS_REGION as REGION

SENDER = "Tallystack <no-reply@tallystack.example>"


def make_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    mail.init_app(app)
    return app


# -- console ------------------------------------------------------------------------------


def test_console_mailer_logs_the_whole_message_and_keeps_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="dynamic.mail")
    mailer = ConsoleMailer()
    message = Message(
        "ada@example.com", "Reset your password", "Open https://x.example/app/reset/abc"
    )

    mailer.send(message)

    assert list(mailer.outbox) == [message]
    [record] = [r for r in caplog.records if r.name == "dynamic.mail"]
    assert record.levelno == logging.INFO
    logged = record.getMessage()
    for part in ("ada@example.com", "Reset your password", "https://x.example/app/reset/abc"):
        assert part in logged


def test_console_outbox_keeps_the_most_recent_hundred() -> None:
    mailer = ConsoleMailer()
    for n in range(105):
        mailer.send(Message("ada@example.com", f"mail {n}", "text"))
    assert len(mailer.outbox) == 100
    assert mailer.outbox[0].subject == "mail 5"
    assert mailer.outbox[-1].subject == "mail 104"


def test_init_app_picks_the_console_mailer_by_default(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dynamic.mail")
    app = make_app()
    mailer = app.extensions["floe.mailer"]
    assert isinstance(mailer, ConsoleMailer)

    with app.app_context():
        mail.send_mail("ada@example.com", "Verify your address", "https://x.example/app/verify/1")

    assert mailer.outbox[-1] == Message(
        "ada@example.com", "Verify your address", "https://x.example/app/verify/1"
    )
    assert "https://x.example/app/verify/1" in caplog.text


@pytest.mark.parametrize("value", ["smtp", "sendgrid"])
def test_unknown_mailer_is_a_config_error_naming_the_choices(value: str) -> None:
    with pytest.raises(ConfigError, match=f"FLOE_MAILER='{value}'.*console, ses"):
        make_app(FLOE_MAILER=value)


def test_ses_needs_a_sender() -> None:
    with pytest.raises(ConfigError, match="FLOE_MAIL_FROM"):
        make_app(FLOE_MAILER="ses")


def test_sender_must_be_an_address() -> None:
    with pytest.raises(ConfigError, match="FLOE_MAIL_FROM"):
        make_app(FLOE_MAIL_FROM="Tallystack")


@pytest.mark.parametrize(
    "fields",
    [
        ("", "subject", "text"),
        ("ada@example.com", "Hi\r\nBcc: eve@example.com", "text"),
        ("ada@example.com\nBcc: eve@example.com", "subject", "text"),
    ],
)
def test_message_refuses_header_injection_and_no_recipient(fields: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError):
        Message(*fields)


def test_send_mail_without_init_app_says_so() -> None:
    with Flask(__name__).app_context(), pytest.raises(RuntimeError, match="init_app"):
        mail.send_mail("ada@example.com", "subject", "text")


# -- SES against moto's server ----------------------------------------------------------


def verify_identity(url: str, identity: str) -> None:
    client = boto3.session.Session().client("sesv2", region_name=REGION, endpoint_url=url)
    client.create_email_identity(EmailIdentity=identity)


def delivered_to(url: str, recipient: str) -> list[dict[str, Any]]:
    """The messages moto's SES holds for ``recipient``, read over HTTP from its model dump."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    return [
        message
        for message in data.get("ses", {}).get("Message", [])
        if recipient in message["destinations"].get("ToAddresses", [])
    ]


def test_ses_mailer_delivers_to_ses(aws: str) -> None:
    verify_identity(aws, "no-reply@tallystack.example")
    mailer = SESMailer(SENDER, region=REGION, endpoint_url=aws)

    mailer.send(
        Message(
            "grace@example.com",
            "Vérifiez votre adresse, Zoë",
            "Hello Grace,\n\nopen https://tallystack.example/app/verify/xyz to verify.\n",
        )
    )

    [message] = delivered_to(aws, "grace@example.com")
    assert message["source"] == SENDER
    assert message["destinations"]["ToAddresses"] == ["grace@example.com"]
    assert message["subject"] == "Vérifiez votre adresse, Zoë"
    assert message["body"] == (
        "Hello Grace,\n\nopen https://tallystack.example/app/verify/xyz to verify.\n"
    )


def test_init_app_with_ses_sends_through_current_app(aws: str) -> None:
    verify_identity(aws, "no-reply@tallystack.example")
    app = make_app(
        FLOE_MAILER="ses",
        FLOE_MAIL_FROM=SENDER,
        FLOE_SES_REGION=REGION,
        FLOE_SES_ENDPOINT_URL=aws,
    )
    assert isinstance(app.extensions["floe.mailer"], SESMailer)

    with app.app_context():
        mail.send_mail("linus@example.com", "Reset your password", "https://x.example/r/1")

    [message] = delivered_to(aws, "linus@example.com")
    assert (message["subject"], message["body"]) == ("Reset your password", "https://x.example/r/1")


def test_unverified_sender_is_a_mail_error_naming_the_recipient(aws: str) -> None:
    mailer = SESMailer("Eve <eve@unverified.example>", region=REGION, endpoint_url=aws)

    with pytest.raises(MailError) as caught:
        mailer.send(Message("alan@example.com", "Hello", "text"))

    text = str(caught.value)
    assert "alan@example.com" in text
    assert "MessageRejected" in text
    assert "not verified" in text
    assert delivered_to(aws, "alan@example.com") == []


def test_unreachable_endpoint_is_a_mail_error(aws: str) -> None:
    # A bound socket that does not listen: connecting is refused at once, deterministically.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        mailer = SESMailer(
            SENDER, region=REGION, endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1
        )
        with pytest.raises(MailError) as caught:
            mailer.send(Message("alan@example.com", "Hello", "text"))
    assert "could not send mail to alan@example.com" in str(caught.value)
    assert f"127.0.0.1:{port}" in str(caught.value)  # botocore names the endpoint
