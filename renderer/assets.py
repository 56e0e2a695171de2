"""Generated assets and special pages: Pygments CSS for the tenant's code style, 404.html."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, render_template
from pygments.formatters import HtmlFormatter

from renderer.catalog import current_catalog

bp = Blueprint("assets", __name__)


@bp.route("/assets/code.css")
def code_css() -> Response:
    style = current_catalog().tenant.theme.code_style
    css = HtmlFormatter(style=style).get_style_defs(".highlight")
    return Response(css, mimetype="text/css")


@bp.route("/404.html")
def not_found_page() -> str:
    """The page hosts serve for unknown paths (Netlify and S3 both look for /404.html)."""
    return render_template("404.html")


def urls() -> Iterator[tuple[str, dict]]:
    yield "assets.code_css", {}
    yield "assets.not_found_page", {}
