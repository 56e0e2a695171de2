"""Where each tenant's site is, for every absolute URL the service builds: the links it mails
and the addresses it gives Stripe to send the buyer back to.

They come from settings, never from the request: a Host or X-Forwarded-Host header is the
client's to choose, and a mailed reset link on a host of the attacker's choosing hands them the
account. ``FLOE_SITE_URL`` is a pattern filled with the tenant's domain (``https://{domain}``
in production, ``http://{domain}:5000`` for the development server); ``FLOE_SITE_URL_<KEY>``
overrides it for one tenant (its key in upper case, ``-`` as ``_``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for

from floe.tenants import Tenant

#: The development server's address (``flask run``), which ``FLOE_SITE_URL`` defaults to there.
DEVELOPMENT_PATTERN = "http://{domain}:5000"
PRODUCTION_PATTERN = "https://{domain}"
OVERRIDE_PREFIX = "FLOE_SITE_URL_"


def site_url(tenant: Tenant) -> str:
    """The tenant site's origin, like ``https://tallystack.example`` (no trailing slash)."""
    config = current_app.config
    override = config["FLOE_SITE_URLS"].get(override_name(tenant.key))
    return override or config["FLOE_SITE_URL"].format(domain=tenant.domain)


def absolute_url(tenant: Tenant, endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` on ``tenant``'s site, whichever site the request is for."""
    return site_url(tenant) + url_for(endpoint, **values)


def override_name(key: str) -> str:
    """The environment variable that overrides tenant ``key``'s site URL."""
    return OVERRIDE_PREFIX + key.upper().replace("-", "_")


def origin_problem(name: str, value: str, *, production: bool) -> str | None:
    """What is wrong with ``value`` (setting ``name``) as a site's origin, or None."""
    parts = urlsplit(value)
    example = "https://tallystack.example" if production else "http://tallystack.example:5000"
    if production and parts.scheme != "https":
        return f"{name}={value!r}: production mails and redirects to https:// only, e.g. {example}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{name}={value!r}: an origin like {example}"
    if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
        return f"{name}={value!r}: an origin without a path, query or user, like {example}"
    return None


def unknown_overrides(overrides: Mapping[str, str], keys: list[str]) -> list[str]:
    """The ``FLOE_SITE_URL_<KEY>`` variables in ``overrides`` that name no tenant."""
    known = {override_name(key) for key in keys}
    return sorted(set(overrides) - known)
