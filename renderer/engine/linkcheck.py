"""After freezing: every internal link of a built page must lead to a file of the built site.

Links are read with an HTML parser (lxml), so only real attributes of real elements count.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html.defs
from lxml import etree

from floe.errors import Problem

SKIPPED_SCHEMES = ("mailto:", "tel:", "javascript:", "data:")
#: Paths the host proxies to the dynamic service; they are not files of the static site.
DYNAMIC_PREFIX = "/app/"

#: (link as written, site path it points to)
Links = tuple[tuple[str, str], ...]


def page_url(rel: str) -> str:
    """The URL a built file is served at (``blog/index.html`` → ``/blog/``)."""
    return "/" + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)


#: Attributes that hold one URL: those lxml's ``iterlinks()`` lists (``href``, ``src``,
#: ``action``, ``cite`` …), and ``poster``, which it does not.
URL_ATTRIBUTES = frozenset(lxml.html.defs.link_attrs | {"poster"})
#: Attributes holding several URLs with descriptors (``a.png 1x, b.png 2x``).
SRCSET_ATTRIBUTES = frozenset({"srcset", "imagesrcset"})
_READ = URL_ATTRIBUTES | SRCSET_ATTRIBUTES | {"style"}
#: Our pages are UTF-8, whatever a page says (or does not say) about its encoding.
_PARSER = etree.HTMLParser(encoding="utf-8", collect_ids=False)
_SPACE = " \t\n\r\f"
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)""", re.I)
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.I)
_META_REFRESH = re.compile(
    r"""^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?(['"]?)(.*?)\1\s*$""", re.I | re.S
)


def iter_links(html: bytes) -> Iterator[str]:
    """Every link a browser would follow or load from ``html``, read by an HTML parser: the
    URL attributes of real elements (those of lxml's ``iterlinks()``: ``href``, ``src``,
    ``action`` …; ``srcset`` candidates; ``poster``; a meta refresh) and CSS ``url()`` and
    ``@import`` in style attributes and elements.

    Markup shown as text (``&lt;a href="/x"&gt;`` in a code span, an escaped title, a string
    in a script) is text, not a link. One pass over the elements with lxml's C parser:
    ``iterlinks()`` itself costs about three times the parse, for the same links.
    """
    if not html.strip():
        return
    try:
        root = etree.fromstring(html, _PARSER)
    except etree.XMLSyntaxError:  # nothing a parser can read as a document
        return
    if root is None:
        return
    for element in root.iter(etree.Element):
        tag = element.tag
        if tag == "style":
            yield from css_urls(element.text or "")
        elif tag == "meta" and element.get("http-equiv", "").lower() == "refresh":
            match = _META_REFRESH.match(element.get("content", ""))
            if match and match.group(2):
                yield match.group(2)
        for name, value in element.items():
            if name not in _READ:
                continue
            if name in URL_ATTRIBUTES:
                yield value
            elif name in SRCSET_ATTRIBUTES:
                yield from srcset_urls(value)
            else:
                yield from css_urls(value)


def css_urls(css: str) -> Iterator[str]:
    """The URLs of ``url()`` and ``@import`` in a style sheet or a style attribute."""
    for match in _CSS_URL.finditer(css):
        yield match.group(1) or match.group(2) or match.group(3) or ""
    for match in _CSS_IMPORT.finditer(css):
        yield match.group(1) or match.group(2) or ""


def srcset_urls(value: str) -> Iterator[str]:
    """The URLs of a ``srcset`` value, split as the HTML standard says: a URL may hold commas,
    a candidate ends at a comma outside parentheses."""
    position, end = 0, len(value)
    while True:
        while position < end and (value[position] in _SPACE or value[position] == ","):
            position += 1
        if position >= end:
            return
        start = position
        while position < end and value[position] not in _SPACE:
            position += 1
        url = value[start:position]
        if url.endswith(","):  # no descriptors: the commas end the candidate
            yield url.rstrip(",")
            continue
        yield url
        depth = 0
        while position < end:  # the descriptors, up to the comma that ends the candidate
            char = value[position]
            position += 1
            if char == "(":
                depth += 1
            elif char == ")" and depth:
                depth -= 1
            elif char == "," and not depth:
                break


def internal_links(html: bytes, page: str, domain: str) -> Links:
    """The links of a page that stay on the static site, with the path each points to."""
    found: dict[str, str] = {}
    for link in iter_links(html):
        target = internal_path(link, page, domain)
        if target is not None and not target.startswith(DYNAMIC_PREFIX):
            found.setdefault(link, target)
    return tuple(sorted(found.items()))


def site_files(root: Path) -> set[str]:
    """Every file of a built site, as a path relative to it."""
    files: set[str] = set()
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
