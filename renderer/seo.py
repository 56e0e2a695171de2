"""Files for crawlers and hosts: sitemaps, robots.txt, the Atom feed, Netlify's _redirects and
_headers, and fallback pages at the old addresses of renamed posts."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, render_template, request

from renderer import caching, split
from renderer.blog import PER_PAGE, page_count
from renderer.catalog import Catalog, current_catalog
from renderer.linkcheck import DYNAMIC_PREFIX

bp = Blueprint("seo", __name__)

#: The sitemap protocol's limit of URLs per file; past it, sitemap.xml becomes an index.
SITEMAP_LIMIT = 50_000
FEED_SIZE = 20
#: The pages' policy: everything from the site itself, nothing inline but JSON-LD data.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'; frame-ancestors 'none'; upgrade-insecure-requests"
)
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: dt.date | None = None


def sitemap_entries(catalog: Catalog) -> list[SitemapEntry]:
    """Every indexable page of the tenant, once: not 404s, redirects or other sites' copies."""
    base = catalog.tenant.base_url
    posts = catalog.posts
    newest = max((p.last_modified for p in posts), default=None)
    entries = [SitemapEntry(base + "/", newest)]
    entries += [
        SitemapEntry(base + p.url)
        for name, p in catalog.pages.items()
        if name != "home" and p.variant is None  # variants point to their page: not listed
    ]
    for number in range(1, page_count(len(posts)) + 1):
        shown = posts[(number - 1) * PER_PAGE : number * PER_PAGE]
        url = "/blog/" if number == 1 else f"/blog/page/{number}/"
        entries.append(
            SitemapEntry(base + url, max((p.last_modified for p in shown), default=None))
        )
    entries += [
        SitemapEntry(base + p.url, p.last_modified) for p in posts if catalog.is_canonical(p)
    ]
    entries += [
        SitemapEntry(base + tag.url, max(p.last_modified for p in tag.posts))
        for tag in catalog.tags.values()
    ]
    return entries


def _xml(template: str, **context) -> Response:
    return Response(render_template(template, **context), mimetype="application/xml")


def _text(body: str) -> Response:
    return Response(body, mimetype="text/plain")


@bp.route("/sitemap.xml")
def sitemap() -> Response:
    entries = sitemap_entries(current_catalog())
    limit = SITEMAP_LIMIT
    if len(entries) <= limit:
        return _xml("sitemap.xml", entries=entries)
    base = current_catalog().tenant.base_url
    parts = [
        SitemapEntry(
            f"{base}/sitemap-{n}.xml",
            max(
                (e.lastmod for e in entries[(n - 1) * limit : n * limit] if e.lastmod), default=None
            ),
        )
        for n in range(1, math.ceil(len(entries) / limit) + 1)
    ]
    return _xml("sitemap_index.xml", parts=parts)


@bp.route("/sitemap-<int:number>.xml")
def sitemap_part(number: int) -> Response:
    entries = sitemap_entries(current_catalog())
    limit = SITEMAP_LIMIT
    part = entries[(number - 1) * limit : number * limit]
    if len(entries) <= limit or not part:
        abort(404)
    return _xml("sitemap.xml", entries=part)


@bp.route("/robots.txt")
def robots() -> Response:
    base = current_catalog().tenant.base_url
    return _text(f"User-agent: *\nDisallow: {DYNAMIC_PREFIX}\n\nSitemap: {base}/sitemap.xml\n")


@bp.route("/feed.xml")
def feed() -> Response:
    catalog = current_catalog()
    posts = catalog.posts[:FEED_SIZE]
    base = catalog.tenant.base_url
    bodies = {p.file: absolute_links(catalog.body(p), base + p.url) for p in posts}
    updated = max((p.last_modified for p in posts), default=dt.date(1970, 1, 1))
    return Response(
        render_template("feed.xml", posts=posts, bodies=bodies, updated=updated),
        mimetype="application/atom+xml",
    )


def absolute_links(html: str, base: str) -> str:
    """``html`` with every link absolute, as feed readers need."""
    if not html.strip():
        return html
    import lxml.html  # only feeds need it

    fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    fragment.make_links_absolute(base, resolve_base_href=False)
    inner = lxml.html.tostring(fragment, encoding="unicode")
    return inner[len("<div>") : -len("</div>")]


@bp.route("/_redirects")
def netlify_redirects() -> Response:
    """Netlify's redirect rules: renamed posts, split-tested pages, the dynamic service."""
    catalog = current_catalog()
    lines = ["# Generated by Floe's build: edit content/ and site/*.toml, not this file."]
    for alias, post in sorted(catalog.aliases.items()):
        lines.append(f"{alias}  {post.url}  301")
    lines += split.redirect_rules(current_app.extensions["floe.experiments"], catalog.tenant)
    lines.append(f"{DYNAMIC_PREFIX}*  {catalog.tenant.dynamic_origin}{DYNAMIC_PREFIX}:splat  200")
    return _text("\n".join(lines) + "\n")


@bp.route("/_headers")
def netlify_headers() -> Response:
    """Netlify's header rules: security headers on every response, and the caching policy of
    :mod:`renderer.caching` where it differs from Netlify's default (a year for the fingerprinted
    assets). Pages keep that default, which is the policy's own: a Cache-Control rule for /*
    would merge its value into the assets' one, as Netlify joins the values of matching rules."""
    lines = ["# Generated by Floe's build.", "/*"]
    lines += [f"  {name}: {value}" for name, value in SECURITY_HEADERS.items()]
    for pattern, value in caching.netlify_cache_rules():
        lines += [pattern, f"  Cache-Control: {value}"]
    return _text("\n".join(lines) + "\n")


def alias_page() -> str:
    """The HTML fallback at a renamed post's old address, for hosts without redirect rules."""
    catalog = current_catalog()
    post = catalog.aliases.get(request.path) or catalog.aliases.get(request.path.rstrip("/"))
    if post is None:
        abort(404)
    home = current_app.extensions["floe.sources"].tenants[post.canonical_tenant]
    return render_template("alias.html", post=post, canonical=home.base_url + post.url)


def alias_rule(alias: str) -> str:
    """The URL a fallback page is frozen at: pretty URLs become ``…/index.html``."""
    last = alias.rsplit("/", 1)[-1]
    return alias if alias.endswith("/") or "." in last else alias + "/"


def urls() -> Iterator[str]:
    yield "/sitemap.xml"
    entries = len(sitemap_entries(current_catalog()))
    limit = SITEMAP_LIMIT
    if entries > limit:
        for number in range(1, math.ceil(entries / limit) + 1):
            yield f"/sitemap-{number}.xml"
    yield "/robots.txt"
    yield "/feed.xml"
    yield "/_redirects"
    yield "/_headers"
    for alias in current_catalog().aliases:
        yield alias_rule(alias)
