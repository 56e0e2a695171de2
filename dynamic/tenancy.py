"""Which tenant a request is for: from its host, with the shared tenant registry."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from floe.tenants import TenantRegistry, load_tenants


def init_app(app: Flask) -> None:
    registry = load_tenants(
        Path(app.config["FLOE_SITE_DIR"]) / "tenants.toml", display_path="site/tenants.toml"
    )
    app.extensions["floe.tenants"] = registry
    proxies = app.config["FLOE_TRUSTED_PROXIES"]
    if proxies:
        # Only behind that many proxies of our own are X-Forwarded-* headers believed.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    @app.before_request
    def resolve_tenant() -> None:
        tenant = registry.by_host(request.host)
        if tenant is None:
            abort(404)
        g.tenant = tenant


def tenants(app: Flask) -> TenantRegistry:
    return app.extensions["floe.tenants"]
