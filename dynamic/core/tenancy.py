"""Which tenant a request is for: from its host, with the shared tenant registry."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, g, request

from dynamic.core.edge_proof import EdgeProof
from dynamic.core.site_url import override_name, unknown_overrides
from floe.tenants import TenantRegistry, load_tenants


def init_app(app: Flask) -> None:
    registry = load_tenants(
        Path(app.config["FLOE_SITE_DIR"]) / "tenants.toml", display_path="site/tenants.toml"
    )
    app.extensions["floe.tenants"] = registry
    _check_site_urls(app, registry)
    proxies = app.config["FLOE_TRUSTED_PROXIES"]
    if proxies:
        # Only behind that many proxies of our own are X-Forwarded-* headers believed, and
        # only on requests that prove they came through the edge (dynamic/core/edge_proof.py).
        # Flask's documented way to add WSGI middleware; its hints declare wsgi_app a method.
        app.wsgi_app = EdgeProof(  # type: ignore[method-assign]
            app.wsgi_app,
            proxies=proxies,
            edge_secrets=app.config.get("FLOE_EDGE_SECRET", ()),
            netlify_secrets=app.config.get("FLOE_NETLIFY_SIGNING_SECRET", ()),
        )

    @app.before_request
    def resolve_tenant() -> None:
        tenant = registry.by_host(request.host)
        if tenant is None:
            abort(404)
        g.tenant = tenant


def tenants(app: Flask) -> TenantRegistry:
    return app.extensions["floe.tenants"]


def _check_site_urls(app: Flask, registry: TenantRegistry) -> None:
    """Refuse a ``FLOE_SITE_URL_<KEY>`` that names no tenant (a typo would go unnoticed)."""
    from dynamic.core.config import ConfigError

    unknown = unknown_overrides(app.config.get("FLOE_SITE_URLS", {}), list(registry))
    if unknown:
        known = ", ".join(override_name(key) for key in registry)
        raise ConfigError(f"{', '.join(unknown)}: no such tenant; the tenants' are {known}")
