"""Outgoing mail: one small interface, a console mailer for development and SES for production.

Views call :func:`send_mail`, or :func:`send_after_response` when the request must not take
longer, or answer differently, because a mail is sent (a reset request for a known address must
look like one for an unknown address); which mailer runs is configuration (``FLOE_MAILER``).
Each mail has a plain-text part and, when its sender gives one, an HTML part: SES sends both
as ``multipart/alternative`` (dynamic/core/mails.py writes them from templates).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, current_app, request
from werkzeug.wsgi import ClosingIterator

from dynamic.core.config import ConfigError

logger = logging.getLogger("dynamic.mail")

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

EXTENSION_KEY = "floe.mailer"
#: Where a request keeps the messages it leaves for after its response (see MailAfterResponse).
PENDING_KEY = "floe.mail_after_response"
MAILERS = ("console", "ses")
#: Shown as the sender by the console mailer; SES needs a real, verified FLOE_MAIL_FROM.
DEVELOPMENT_SENDER = "Floe development <no-reply@localhost>"


class MailError(RuntimeError):
    """The mail could not be handed to the mail service; the caller decides what to do."""


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    #: The same mail as HTML, sent beside the text (multipart/alternative); None: text only.
    html: str | None = None

    def __post_init__(self) -> None:
        if not self.to.strip():
            raise ValueError("a message needs a recipient")
        # Header injection: a line break in a header value would start a new header.
        for field in ("to", "subject"):
            if "\r" in getattr(self, field) or "\n" in getattr(self, field):
                raise ValueError(f"line break in the message's {field!r}")


class Mailer(Protocol):
    def send(self, message: Message) -> None: ...


class ConsoleMailer:
    """Development: writes each message to the log instead of sending it.

    A developer running ``flask --app dynamic run`` sees the links in the terminal; tests and a
    shell read the most recent messages from :attr:`outbox`.
    """

    def __init__(self, sender: str = DEVELOPMENT_SENDER, keep: int = 100) -> None:
        self.sender = sender
        self.outbox: deque[Message] = deque(maxlen=keep)

    def send(self, message: Message) -> None:
        self.outbox.append(message)
        logger.info(
            "Mail (not sent, FLOE_MAILER=console)\nFrom: %s\nTo: %s\nSubject: %s\n\n%s",
            self.sender,
            message.to,
            message.subject,
            message.text,
        )


class SESMailer:
    """Amazon SES (API v2). ``sender`` must be an identity verified in SES for ``region``.

    Credentials come from boto3's usual chain (environment, instance or task role).
    ``endpoint_url`` points the client at a local SES-compatible server (tests).
    """

    def __init__(
        self,
        sender: str,
        region: str,
        endpoint_url: str | None = None,
        *,
        max_attempts: int = 3,
    ) -> None:
        self.sender = sender
        # A send runs inside a request: bounded timeouts and retries, never a minute's hang.
        config = Config(
            connect_timeout=5,
            read_timeout=10,
            retries={"mode": "standard", "max_attempts": max_attempts},
        )
        # One client for the process: botocore clients are thread-safe, sessions are not.
        self.client: Any = boto3.session.Session().client(
            "sesv2", region_name=region, endpoint_url=endpoint_url or None, config=config
        )

    def send(self, message: Message) -> None:
        try:
            response = self.client.send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": [message.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                        "Body": self._body(message),
                    }
                },
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "unknown error")
            detail = error.get("Message", "") or str(exc)
            raise MailError(
                f"could not send mail to {message.to}: SES refused it ({code}: {detail})"
            ) from exc
        except BotoCoreError as exc:  # no connection, timeout, no credentials …
            raise MailError(f"could not send mail to {message.to}: {exc}") from exc
        logger.info("SES accepted mail to %s (message id %s)", message.to, response["MessageId"])

    @staticmethod
    def _body(message: Message) -> dict[str, Any]:
        """The text part, and the HTML part beside it when there is one: SES sends both as
        one ``multipart/alternative`` message."""
        body = {"Text": {"Data": message.text, "Charset": "UTF-8"}}
        if message.html is not None:
            body["Html"] = {"Data": message.html, "Charset": "UTF-8"}
        return body


def init_app(app: Flask) -> None:
    """Choose the mailer from ``app.config`` and keep it in ``app.extensions``."""
    kind = str(app.config.get("FLOE_MAILER") or "console").strip().lower()
    sender = str(app.config.get("FLOE_MAIL_FROM") or "").strip()
    if kind not in MAILERS:
        raise ConfigError(f"FLOE_MAILER={kind!r}: use one of {', '.join(MAILERS)}")
    if sender and "@" not in parseaddr(sender)[1]:
        raise ConfigError(
            f"FLOE_MAIL_FROM={sender!r}: use an address, e.g. 'Tallystack <no-reply@example.com>'"
        )
    mailer: Mailer
    if kind == "ses":
        if not sender:
            raise ConfigError("FLOE_MAILER=ses needs FLOE_MAIL_FROM, an address verified in SES")
        mailer = SESMailer(
            sender,
            region=app.config.get("FLOE_SES_REGION") or "us-east-1",
            endpoint_url=app.config.get("FLOE_SES_ENDPOINT_URL") or None,
        )
    else:
        mailer = ConsoleMailer(sender or DEVELOPMENT_SENDER)
        # Flask gives the app's logger ("dynamic") a stderr handler; at INFO the links show
        # in the terminal even without --debug.
        app.logger  # noqa: B018
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        if app.config.get("FLOE_ENV") == "production":
            logger.warning("FLOE_MAILER=console in production: mail is logged, not sent")
    app.extensions[EXTENSION_KEY] = mailer
    app.wsgi_app = MailAfterResponse(app.wsgi_app, app)  # type: ignore[method-assign]


def get_mailer(app: Flask | None = None) -> Mailer:
    """The mailer of ``app`` (default: the current app)."""
    app = app or current_app
    try:
        return app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError(
            "no mailer: call dynamic.core.mail.init_app(app) in create_app"
        ) from None


def send_mail(to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send a mail (its text, and ``html`` beside it) through the current app's mailer;
    raises :class:`MailError`."""
    get_mailer().send(Message(to, subject, text, html))


def send_after_response(to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send a mail (its text, and ``html`` beside it) once the server has sent this request's
    whole response.

    The request does no mail work, so it takes as long, and answers the same, whether a mail
    goes or not; the mail is not sent if the request fails (a 5xx answer). A failure to send is
    logged (the user has had the answer already). Call it from a view, not from a streamed body.
    """
    message = Message(to, subject, text, html)
    request.environ.setdefault(PENDING_KEY, []).append(message)


class MailAfterResponse:
    """WSGI middleware: sends the messages a request left (:func:`send_after_response`) when the
    server closes the response, which every WSGI server does after writing its last byte
    (PEP 3333: gunicorn's workers, Werkzeug's server; Werkzeug's test client on
    ``response.close()``, or at once with ``buffered=True``).

    Thus the response is complete before the mail goes; the worker thread is busy until it has.
    Responses without mail pass through untouched (``wsgi.file_wrapper`` stays a file).
    """

    def __init__(self, wsgi_app: WSGIApplication, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        statuses: list[str] = []

        def recording_start_response(status, headers, exc_info=None):
            statuses.append(status)
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, recording_start_response)
        if not environ.get(PENDING_KEY):
            return body
        return ClosingIterator(body, lambda: self._send_pending(environ, statuses))

    def _send_pending(self, environ: WSGIEnvironment, statuses: list[str]) -> None:
        pending: list[Message] = environ.pop(PENDING_KEY, [])
        where = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        if not statuses or statuses[-1][:1] == "5":
            logger.warning("%d mail(s) of %s not sent: the request failed", len(pending), where)
            return
        mailer = get_mailer(self.app)
        for message in pending:
            try:
                mailer.send(message)
            except MailError as error:
                logger.error("mail to %s after %s failed: %s", message.to, where, error)
            except Exception:  # a bug must not keep the other messages or the worker
                logger.exception("mail to %s after %s failed", message.to, where)
