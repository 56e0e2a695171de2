"""Error pages in the tenant's theme, and the headers every answer of the service carries."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, jsonify, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from dynamic.core.db import DatabaseUnavailable
from dynamic.core.look import render

#: Seconds a visitor (or a client honouring Retry-After) is asked to wait when the database
#: does not answer.
RETRY_AFTER = 10
#: Answered in JSON (their callers are scripts): the API, the split-test script and beacon,
#: health checks.
JSON_BLUEPRINTS = ("api", "health")
JSON_ENDPOINTS = ("split.assign", "split.seen")

MESSAGES = {
    403: ("Not allowed", "This page is for administrators."),
    404: ("Not found", "There is no page at this address."),
    429: ("Too many attempts", "Too many attempts in a short time. Wait a minute, then retry."),
}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def form_expired(error: CSRFError):
        return _page(
            400,
            "Form expired",
            "The form expired or did not come from this site. "
            "Go back, reload the page and try again.",
        )

    for status, (heading, message) in MESSAGES.items():
        app.register_error_handler(status, _handler(status, heading, message))

    # A database that is down, frozen or locked (OperationalError: refused, timed out, "database
    # is locked"; the pool's TimeoutError) is a 503 to retry, never Werkzeug's bare 500.
    for error in (OperationalError, PoolTimeout, DatabaseUnavailable):
        app.register_error_handler(error, database_unavailable)

    @app.after_request
    def headers(response: Response) -> Response:
        # Defaults only: an answer that set its own keeps them (a split-test page, the site's).
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Reset and verification links carry a token in the path: never send it to another
        # site. Same-origin requests keep their Referer: Flask-WTF checks it over HTTPS.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static_asset":
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response


def database_unavailable(error: Exception):
    current_app.logger.error("database unavailable on %s: %s", request.path, error)
    g.database_unavailable = True  # dynamic/accounts/sessions.py: no user lookup for the error page
    if request.blueprint in JSON_BLUEPRINTS or request.endpoint in JSON_ENDPOINTS:
        response = jsonify(error="database unavailable", retry_after=RETRY_AFTER)
        response.status_code = 503
    else:
        response = current_app.make_response(
            _page(
                503,
                "Temporarily unavailable",
                "This page cannot be shown for a moment. Wait a few seconds, then reload it.",
            )
        )
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def _handler(status: int, heading: str, message: str):
    def handle(error: HTTPException):
        return _page(status, heading, message)

    return handle


def _page(status: int, heading: str, message: str):
    if getattr(g, "tenant", None) is None:  # an unknown host: no theme to show
        return Response(f"{heading}\n", status=status, mimetype="text/plain")
    return render("core/message.html", heading, status, heading=heading, message=message)
