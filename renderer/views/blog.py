"""The blog: paginated index, one page per post, one page per tag."""

from __future__ import annotations

import math
from collections.abc import Iterator

from flask import Blueprint, abort, current_app, render_template

from renderer.content.catalog import current_catalog
from renderer.content.markdown import summarize
from renderer.views.asset_urls import manifest
from renderer.views.seo import listing_head, post_head

bp = Blueprint("blog", __name__, url_prefix="/blog")

PER_PAGE = 10


@bp.route("/", defaults={"number": 1})
@bp.route("/page/<int:number>/")
def index(number: int) -> str:
    catalog = current_catalog()
    posts = catalog.posts
    last = page_count(len(posts))
    if not 1 <= number <= last:
        abort(404)
    shown = posts[(number - 1) * PER_PAGE : number * PER_PAGE]
    title = "Blog" if number == 1 else f"Blog, page {number} of {last}"
    description = f"Articles from {catalog.tenant.name}: {catalog.tenant.tagline}"
    if number > 1:
        description = f"Older articles from {catalog.tenant.name}, page {number} of {last}."
    page_head = listing_head(catalog, manifest(), title, description)
    return render_template("blog_index.html", posts=shown, number=number, last=last, head=page_head)


@bp.route("/<slug>/")
def post(slug: str) -> str:
    catalog = current_catalog()
    found = catalog.post(slug)
    if found is None:
        abort(404)
    sources = current_app.extensions["floe.sources"]
    return render_template(
        "post.html",
        post=found,
        body=catalog.body(found),
        related=catalog.related(found),
        head=post_head(found, catalog, sources.tenants, manifest()),
    )


@bp.route("/tag/<slug>/")
def tag(slug: str) -> str:
    catalog = current_catalog()
    found = catalog.tags.get(slug)
    if found is None:
        abort(404)
    count = len(found.posts)
    articles = f"{count} article{'s' if count != 1 else ''}"
    titles = ", ".join(p.title for p in found.posts[:3])
    description = f"{articles} about {found.name} from {catalog.tenant.name}: {titles}"
    page_head = listing_head(
        catalog, manifest(), f"Posts about {found.name}", summarize(description)
    )
    return render_template("tag.html", tag=found, posts=found.posts, head=page_head)


def page_count(posts: int) -> int:
    return max(1, math.ceil(posts / PER_PAGE))


def urls() -> Iterator[str]:
    """Every blog URL, for Frozen-Flask (as paths: url_for for each would cost more)."""
    catalog = current_catalog()
    yield "/blog/"
    for number in range(2, page_count(len(catalog.posts)) + 1):
        yield f"/blog/page/{number}/"
    for found in catalog.posts:
        yield found.url
    for tag in catalog.tags.values():
        yield tag.url
