"""The blog: paginated index, one page per post, one page per tag."""

from __future__ import annotations

import math
from collections.abc import Iterator

from flask import Blueprint, abort, render_template

from renderer.catalog import current_catalog

bp = Blueprint("blog", __name__, url_prefix="/blog")

PER_PAGE = 10


@bp.route("/", defaults={"number": 1})
@bp.route("/page/<int:number>/")
def index(number: int) -> str:
    posts = current_catalog().posts
    last = page_count(len(posts))
    if not 1 <= number <= last:
        abort(404)
    shown = posts[(number - 1) * PER_PAGE : number * PER_PAGE]
    return render_template("blog_index.html", posts=shown, number=number, last=last)


@bp.route("/<slug>/")
def post(slug: str) -> str:
    catalog = current_catalog()
    found = catalog.post(slug)
    if found is None:
        abort(404)
    return render_template("post.html", post=found, body=catalog.body(found))


@bp.route("/tag/<slug>/")
def tag(slug: str) -> str:
    found = current_catalog().tags.get(slug)
    if found is None:
        abort(404)
    return render_template("tag.html", tag=found, posts=found.posts)


def page_count(posts: int) -> int:
    return max(1, math.ceil(posts / PER_PAGE))


def urls() -> Iterator[tuple[str, dict]]:
    """Every blog URL, for Frozen-Flask."""
    catalog = current_catalog()
    for number in range(1, page_count(len(catalog.posts)) + 1):
        yield "blog.index", {"number": number}
    for found in catalog.posts:
        yield "blog.post", {"slug": found.slug}
    for slug in catalog.tags:
        yield "blog.tag", {"slug": slug}
