"""Visitor ids the service issued: the ``floe_vid`` cookie holds ``<id>.<signature>``.

The id itself (random, URL-safe, no dot) is what a variant is computed from, so GrowthBook's
SDKs still agree with the service; the signature (itsdangerous, keyed by ``SECRET_KEY``, a salt
of its own) only proves the service issued it. Exposures and sign-up buckets are counted for
signed ids only: an id a script made up is shown its variant like anyone's, never counted.

An id without a valid signature (from before ids were signed, or signed with a retired key)
keeps its variant: the service signs it on the visitor's next visit, so no running test is
reshuffled. Since a script could make up ids and have them signed (or ask for new ones), each
address is issued a bounded number of signed ids per period (``FLOE_VISITOR_ID_LIMIT``);
beyond it the visitor is served as usual and keeps a bare id, signed on a later visit.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from flask import current_app, request
from itsdangerous import BadSignature, Signer
from limits import parse
from limits.errors import StorageError

from dynamic.core.security import limiter

#: The ids the service hands out (``secrets.token_urlsafe(16)``), and those of before.
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SALT = "floe.visitor-id"


@dataclass(frozen=True)
class VisitorId:
    """The id a cookie carries, and whether the service issued it (a valid signature)."""

    value: str
    issued: bool


def _signer() -> Signer:
    # Verified with every key in SECRET_KEY_FALLBACKS too, signed with SECRET_KEY (the last).
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.secret_key]
    return Signer(keys, salt=_SALT)


def read(cookie: str | None) -> VisitorId | None:
    """The visitor id in a ``floe_vid`` cookie value; None when it holds none."""
    text = cookie or ""
    value, dot, _ = text.partition(".")
    if not _ID.match(value):
        return None
    if not dot:
        return VisitorId(value, issued=False)
    try:
        return VisitorId(_signer().unsign(text).decode(), issued=True)
    except BadSignature:
        return VisitorId(value, issued=False)


def signed(visitor: str) -> str:
    """The cookie value of an id issued by the service."""
    return _signer().sign(visitor).decode()


def address() -> str:
    """Who asks, for the limits: the client's address, an IPv6 client's /64 (one host, or one
    home, usually holds a whole /64, and could pick a new address in it for each request)."""
    remote = request.remote_addr or ""
    try:
        parsed = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:  # ::ffff:192.0.2.1 is 192.0.2.1
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def may_issue() -> bool:
    """Spend one of this address's signed ids for the period (``FLOE_VISITOR_ID_LIMIT``), in
    the rate limits' storage (Redis when several workers share it). If the storage fails, no
    id is issued: the visitor is served all the same and signed on a later visit."""
    if not current_app.config["RATELIMIT_ENABLED"]:  # no limits, on ids either
        return True
    budget = parse(current_app.config["FLOE_VISITOR_ID_LIMIT"])
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    own = limiter.current
    failures = own.storage.base_exceptions  # e.g. redis-py's errors
    caught: tuple[type[Exception], ...]
    caught = (StorageError, *failures) if isinstance(failures, tuple) else (StorageError, failures)
    try:
        return own.limiter.hit(budget, prefix, "floe-visitor-ids", address())
    except caught:
        current_app.logger.warning("split: the rate-limit storage failed; no visitor id signed")
        return False


def cookie_value(visitor: str) -> str:
    """What the ``floe_vid`` cookie should hold for ``visitor``, which the request's cookie
    does not hold signed: signed within this address's budget, else the bare id."""
    return signed(visitor) if may_issue() else visitor
