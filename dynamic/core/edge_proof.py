"""Forwarded headers are believed only from the edge.

Behind ``FLOE_TRUSTED_PROXIES`` proxies, Werkzeug's ProxyFix takes the visitor's address, scheme
and host from ``X-Forwarded-*``. Those are plain request headers: a client that reaches the
origin directly could write them too, and pick its own address (past the per-address login
limit) and its own tenant. So a request's forwarded headers are used only when it carries proof
that it came through an edge of ours, each edge with its own mechanism:

- **CloudFront** (or nginx when it is the edge itself): the header ``X-Floe-Edge-Secret``,
  an origin custom header, compared in constant time with ``FLOE_EDGE_SECRET``.
- **Netlify**: a signed proxy rule (``signed = "FLOE_NETLIFY_SIGNING_SECRET"``) makes Netlify
  send ``X-Nf-Sign``, a JWT signed with HS256 with that secret, issued by ``netlify`` and
  expiring five minutes after it was made (claims ``netlify_id``, ``site_url``,
  ``deploy_context``), verified with PyJWT.

A request without valid proof is served as if it came straight to the service: its forwarded
headers are ignored, so the rate limits see the real peer and the Host header names the tenant.
With no proof configured (development), forwarded headers are believed as before.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import Any

import jwt
from werkzeug.middleware.proxy_fix import ProxyFix

EDGE_SECRET_HEADER = "X-Floe-Edge-Secret"
NETLIFY_SIGNATURE_HEADER = "X-Nf-Sign"
#: What the request's WSGI environ records: which edge proved itself, or None.
ENVIRON_KEY = "floe.edge"
#: Netlify's and our clocks may disagree a little; its tokens live five minutes.
CLOCK_LEEWAY_SECONDS = 30

_EDGE_SECRET_ENVIRON = "HTTP_" + EDGE_SECRET_HEADER.upper().replace("-", "_")
_NETLIFY_ENVIRON = "HTTP_" + NETLIFY_SIGNATURE_HEADER.upper().replace("-", "_")


def edge_secret_matches(offered: str | None, secrets: Iterable[str]) -> bool:
    """Whether the header's value is one of ``secrets`` (constant time for each)."""
    if not offered:
        return False
    given = offered.encode("latin-1", "replace")  # WSGI headers are latin-1 strings
    # No short cut: every configured secret is compared.
    return sum(hmac.compare_digest(given, secret.encode()) for secret in secrets) > 0


def netlify_signature_valid(token: str | None, secrets: Iterable[str]) -> bool:
    """Whether ``token`` is a current X-Nf-Sign JWT signed with one of ``secrets``."""
    if not token:
        return False
    for secret in secrets:
        try:
            jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                issuer="netlify",
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["exp", "iss"]},
            )
        except jwt.InvalidTokenError:
            continue
        return True
    return False


class EdgeProof:
    """WSGI middleware: ProxyFix for requests that prove they came through the edge, the bare
    application for the others."""

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        proxies: int,
        edge_secrets: Iterable[str] | str = (),
        netlify_secrets: Iterable[str] | str = (),
    ) -> None:
        self.direct = app
        self.forwarded = ProxyFix(app, x_for=proxies, x_proto=proxies, x_host=proxies)
        self.edge_secrets = _values(edge_secrets)
        self.netlify_secrets = _values(netlify_secrets)

    @property
    def required(self) -> bool:
        """Whether any proof is configured (without, every request's headers are believed)."""
        return bool(self.edge_secrets or self.netlify_secrets)

    def edge_of(self, environ: dict[str, Any]) -> str | None:
        """Which edge the request proves it came through: "secret", "netlify", or None."""
        if edge_secret_matches(environ.get(_EDGE_SECRET_ENVIRON), self.edge_secrets):
            return "secret"
        if netlify_signature_valid(environ.get(_NETLIFY_ENVIRON), self.netlify_secrets):
            return "netlify"
        return None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        edge = self.edge_of(environ) if self.required else "unchecked"
        # The secret goes no further: not into the application, its logs or its error reports.
        environ.pop(_EDGE_SECRET_ENVIRON, None)
        environ[ENVIRON_KEY] = edge
        return (self.forwarded if edge else self.direct)(environ, start_response)


def _values(secrets: Iterable[str] | str) -> tuple[str, ...]:
    """Secrets as a tuple; one string is one secret (or several, comma-separated)."""
    if isinstance(secrets, str):
        secrets = secrets.split(",")
    return tuple(secret.strip() for secret in secrets if secret.strip())
