"""After freezing: every internal ``href`` and ``src`` must lead to a file of the built site."""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterator, Mapping
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from floe.errors import Problem

SKIPPED_SCHEMES = ("mailto:", "tel:", "javascript:", "data:")
#: Paths the host proxies to the dynamic service; they are not files of the static site.
DYNAMIC_PREFIX = "/app/"

#: (link as written, site path it points to)
Links = tuple[tuple[str, str], ...]


def page_url(rel: str) -> str:
    """The URL a built file is served at (``blog/index.html`` → ``/blog/``)."""
    return "/" + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)


#: Attributes that hold URLs, quoted either way; srcset holds several.
_URL_ATTRIBUTE = re.compile(
    rb"""\s(href|src|srcset|poster|action)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I
)
_CSS_URL = re.compile(rb"""url\(\s*['"]?([^'")\s]+)""")


def iter_links(html: bytes) -> Iterator[str]:
    """Every link a browser would follow or load from ``html``: href, src, srcset, action,
    poster, and CSS ``url()`` in style attributes and elements.

    A regular expression rather than an HTML parser: the pages come from our own templates,
    and the build checks thousands of them.
    """
    for match in _URL_ATTRIBUTE.finditer(html):
        raw = match.group(2) or match.group(3) or match.group(4) or b""
        value = html_unescape(raw.decode())
        if match.group(1).lower() == b"srcset":
            for candidate in value.split(","):
                if candidate.strip():
                    yield candidate.split()[0]
        else:
            yield value
    for match in _CSS_URL.finditer(html):
        yield html_unescape(match.group(1).decode())


def internal_links(html: bytes, page: str, domain: str) -> Links:
    """The links of a page that stay on the static site, with the path each points to."""
    found = {}
    for link in iter_links(html):
        target = internal_path(link, page, domain)
        if target is not None and not target.startswith(DYNAMIC_PREFIX):
            found.setdefault(link, target)
    return tuple(sorted(found.items()))


def site_files(root: Path) -> set[str]:
    """Every file of a built site, as a path relative to it."""
    files = set()
    for folder, _dirs, names in os.walk(root):
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        files.update(prefix + name for name in names)
    return files


def pack(links: Links) -> bytes:
    """``links`` as one bytes object: the build cache keeps thousands, cheap to load as such."""
    return pickle.dumps(links, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(data: bytes) -> Links:
    return pickle.loads(data)


def check_links(
    root: Path,
    domain: str,
    sources: Mapping[str, str] | None = None,
    known: Mapping[str, bytes] | None = None,
    files: set[str] | None = None,
    trusted: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[Problem], dict[str, bytes]]:
    """Problems for internal links in ``root``'s HTML that resolve to no built file.

    ``sources`` maps a page URL to the content file it was rendered from, so that the problem
    names the file a writer can fix. ``known`` gives the links of pages whose HTML did not change
    since they were found (see :func:`pack`), so only new pages are parsed. Returns the problems
    and the links of every page, packed. ``files`` lists the site's files when the caller knows
    them. ``trusted`` pages are not checked again: their links resolved against the files of the
    last build (it passed, and no file went since).
    """
    sources = sources or {}
    known = known or {}
    files = site_files(root) if files is None else files
    links: dict[str, bytes] = {}
    broken: dict[tuple[str | None, str], list[str]] = {}
    resolved: dict[str, bool] = {}
    for rel in sorted(f for f in files if f.endswith(".html")):
        url = page_url(rel)
        packed = known.get(url)
        if packed is not None and url in trusted:
            links[url] = packed
            continue
        if packed is None:
            page_links = internal_links((root / rel).read_bytes(), url, domain)
            packed = pack(page_links)
        else:
            page_links = unpack(packed)
        links[url] = packed
        for link, target in page_links:
            ok = resolved.get(target)
            if ok is None:
                ok = resolved[target] = resolves(files, target)
            if not ok:
                pages = broken.setdefault((sources.get(url), link), [])
                if url not in pages:
                    pages.append(url)
    problems = []
    for (source, link), pages in broken.items():
        target = internal_path(link, pages[0], domain) or link
        hint = (
            "add the trailing slash" if resolves(files, target + "/") else "fix or remove the link"
        )
        shown = ", ".join(pages[:3]) + (f" and {len(pages) - 3} more" if len(pages) > 3 else "")
        where = "page" if len(pages) == 1 else f"{len(pages)} pages"
        problems.append(
            Problem(
                source or f"{domain} (templates or site/tenants.toml)",
                None,
                None,
                f"broken link {link!r} on {where}: {shown}",
                hint,
            )
        )
    return problems, links


def internal_path(link: str, page: str, domain: str) -> str | None:
    """The site path ``link`` points to, or None when it leaves the site or is a fragment."""
    link = link.strip()
    if not link or link.startswith("#") or link.lower().startswith(SKIPPED_SCHEMES):
        return None
    if link.startswith("/") and not link.startswith("//"):  # most links: a path on this site
        return unquote(link.split("#", 1)[0].split("?", 1)[0]) or "/"
    parts = urlsplit(urljoin(f"https://{domain}{page}", link))
    if parts.scheme not in ("http", "https") or parts.hostname != domain:
        return None
    return unquote(parts.path) or "/"


def resolves(files: set[str], path: str) -> bool:
    relative = os.path.normpath(path.lstrip("/") + ("index.html" if path.endswith("/") else ""))
    return relative.replace(os.sep, "/") in files
