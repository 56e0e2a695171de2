"""Landing pages: ``/`` and ``/<name>/``, each with the template its front matter chooses."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, abort, current_app, render_template

from renderer.content.catalog import current_catalog
from renderer.views import variant_pages
from renderer.views.asset_urls import manifest
from renderer.views.seo import landing_head

bp = Blueprint("landing", __name__)


@bp.route("/")
def home() -> str:
    return _render("home")


@bp.route("/<name>/")
def page(name: str) -> str:
    if name == "home":
        abort(404)
    return _render(name)


def _render(name: str) -> str:
    catalog = current_catalog()
    landing = catalog.pages.get(name)
    if landing is None:
        abort(404)
    return render_template(
        landing.template,
        page=landing,
        body=catalog.body(landing),
        recent_posts=catalog.posts[:3],
        head=landing_head(landing, catalog, manifest()),
        split=variant_pages.mark(
            current_app.extensions["floe.experiments"], catalog.tenant.key, landing
        ),
    )


def urls() -> Iterator[str]:
    """Every landing page, for Frozen-Flask (as paths: url_for for each would cost more)."""
    for page in current_catalog().pages.values():
        yield page.url
