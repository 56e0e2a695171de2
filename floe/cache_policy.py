"""How each built file is served: its Content-Type and Cache-Control, one policy for every host.

Every file under /static/ carries a hash of its content in its name (see :mod:`floe.assets`:
the build writes nothing else there), so it can be cached for a year and never asked for
again. Everything else (pages, feeds, sitemaps, robots.txt) keeps its address when it changes,
so browsers and CDNs revalidate it on every visit: a deploy shows at once, and an unchanged
page costs a 304.

The S3 deploy sets both headers on every object (S3 serves what the uploader said). Netlify
guesses Content-Type well and sends :data:`REVALIDATE` by default, so its ``_headers`` carries
only the rules that differ from that default (:func:`netlify_cache_rules`).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from floe.assets import PREFIX

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"
#: What Netlify sends when no rule of ``_headers`` sets Cache-Control.
NETLIFY_DEFAULT = REVALIDATE

#: Cache-Control by URL path prefix, first match wins; any other path gets REVALIDATE.
CACHE_RULES: tuple[tuple[str, str], ...] = ((PREFIX, IMMUTABLE),)

#: Files whose type their extension does not tell: the renderer's Atom feed
#: (renderer.views.crawler_files).
TYPES_BY_PATH = {"/feed.xml": "application/atom+xml"}
#: What Python's own table gets wrong for the web or lacks (it has no fonts and calls XML
#: text/xml, whose default charset is ASCII).
TYPES_BY_EXTENSION = {
    ".html": "text/html",
    ".xml": "application/xml",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
}
#: Files without an extension (robots-like text files such as Netlify's _redirects).
NO_EXTENSION = "text/plain"
UNKNOWN = "application/octet-stream"
#: Types that are text though not ``text/*``: they get ``charset=utf-8`` like text does.
TEXT_TYPES = (
    "application/xml",
    "application/atom+xml",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
)

# Python's built-in table only, not /etc/mime.types: the same answer on every machine.
_TABLE = mimetypes.MimeTypes()


@dataclass(frozen=True)
class Served:
    """The headers a host sends with one file."""

    content_type: str
    cache_control: str


def served(path: str) -> Served:
    """The headers for the file at URL ``path`` (``/blog/index.html``, ``/static/x.1a2b.css``)."""
    return Served(content_type(path), cache_control(path))


def cache_control(path: str) -> str:
    for prefix, value in CACHE_RULES:
        if path.startswith(prefix):
            return value
    return REVALIDATE


def content_type(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    stem, dot, extension = name.rpartition(".")
    if path in TYPES_BY_PATH:
        kind = TYPES_BY_PATH[path]
    elif not dot or not stem:  # "_redirects", ".htaccess": no extension
        kind = NO_EXTENSION
    else:
        suffix = "." + extension.lower()
        kind = TYPES_BY_EXTENSION.get(suffix) or _TABLE.guess_type(name)[0] or UNKNOWN
    if kind.startswith("text/") or kind in TEXT_TYPES:
        return f"{kind}; charset=utf-8"
    return kind


def netlify_cache_rules() -> list[tuple[str, str]]:
    """``(pattern, Cache-Control)`` for Netlify's ``_headers``: only where the policy differs
    from Netlify's default, which serves every other path already."""
    return [(prefix + "*", value) for prefix, value in CACHE_RULES if value != NETLIFY_DEFAULT]
