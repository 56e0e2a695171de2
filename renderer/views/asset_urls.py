"""The fingerprinted assets of one tenant's site, served for freezing (see floe.assets)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, render_template

from floe.assets import BUNDLE, PREFIX, Asset, AssetManifest, fingerprint, read_static

__all__ = ["BUNDLE", "PREFIX", "Asset", "AssetManifest", "bp", "fingerprint", "read_static"]

bp = Blueprint("assets", __name__)


def manifest() -> AssetManifest:
    return current_app.extensions["floe.assets"]


@bp.route("/static/<path:name>")
def static_file(name: str) -> Response:
    asset = manifest().by_url(PREFIX + name)
    if asset is None:
        abort(404)
    return Response(asset.data, mimetype=asset.mimetype)


@bp.route("/404.html")
def not_found_page() -> str:
    """The page hosts serve for unknown paths (Netlify and S3 both look for /404.html)."""
    from renderer.views.seo import not_found_head  # head imports this module

    return render_template("404.html", head=not_found_head(current_app.extensions["floe.catalog"]))


def urls() -> Iterator[str]:
    for asset in manifest():
        yield asset.url
    yield "/404.html"
