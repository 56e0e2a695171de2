"""The dynamic pages in the tenant's theme: its static site's base template and CSS bundle.

Templates resolve as the renderer resolves them (the tenant's overrides in
``site/templates/tenants/<key>/`` first, then ``site/templates/``), then the service's own
pages: each area's ``templates/`` folder, one subfolder per area (``core/layout.html``,
``accounts/login.html``…), found through the blueprints that area registers. One Jinja
environment per tenant, so each caches its own templates; the asset manifest is the
renderer's, so the CSS URL is the very file the static site deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, current_app, g
from flask_login import current_user
from jinja2 import ChoiceLoader, Environment, FileSystemLoader

from floe.assets import PREFIX, AssetManifest, read_static
from floe.head import Head, page_title
from floe.tenants import TenantRegistry


@dataclass(frozen=True)
class AccountLink:
    label: str
    href: str


@dataclass(frozen=True)
class Look:
    env: Environment
    assets: AssetManifest


def init_app(app: Flask, registry: TenantRegistry) -> None:
    templates = Path(app.config["FLOE_SITE_DIR"]) / "templates"
    static = read_static(Path(app.config["FLOE_SITE_DIR"]) / "static")
    flask_loader = app.jinja_env.loader  # Flask's: the blueprints' template folders
    assert flask_loader is not None
    looks = {}
    for key, tenant in registry.items():
        loader = ChoiceLoader(
            [
                FileSystemLoader(templates / "tenants" / key),
                FileSystemLoader(templates),
                flask_loader,
            ]
        )
        env = app.jinja_env.overlay(loader=loader, trim_blocks=True, lstrip_blocks=True)
        looks[key] = Look(env, AssetManifest(static, tenant))
    app.extensions["floe.looks"] = looks
    if app.config["FLOE_ENV"] != "production":
        # In production the host serves /static/ from the deployed site; in development this
        # keeps `flask --app dynamic run` styled without a build.
        app.add_url_rule("/static/<path:name>", "static_asset", _static_asset)


def _look() -> Look:
    return current_app.extensions["floe.looks"][g.tenant.key]


def render(template: str, title: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render ``template`` (which extends the site's ``base.html``) for the request's tenant."""
    look = _look()
    tenant = g.tenant
    context.update(
        tenant=tenant,
        head=Head(
            title=page_title(tenant, title), description=title, canonical=None, robots="noindex"
        ),
        asset_url=lambda name: look.assets[name].url,
        account_link=(
            AccountLink("Account", "/app/account")
            if current_user.is_authenticated
            else AccountLink("Log in", "/app/login")
        ),
    )
    current_app.update_template_context(context)
    return look.env.get_template(template).render(context), status


def _static_asset(name: str) -> Response:
    asset = _look().assets.by_url(PREFIX + name)
    if asset is None:
        abort(404)
    return Response(asset.data, mimetype=asset.mimetype)
