"""After freezing: every internal ``href`` and ``src`` must lead to a file of the built site."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html

from floe.errors import Problem

SKIPPED_SCHEMES = ("mailto:", "tel:", "javascript:", "data:")
#: Paths the host proxies to the dynamic service; they are not files of the static site.
DYNAMIC_PREFIX = "/app/"


def page_url(root: Path, file: Path) -> str:
    """The URL a built file is served at (``blog/index.html`` → ``/blog/``)."""
    rel = file.relative_to(root).as_posix()
    return "/" + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)


def iter_links(html: bytes) -> Iterator[str]:
    """Every link a browser would follow or load from ``html`` (href, src, srcset, CSS url())."""
    if not html.strip():
        return
    document = lxml.html.document_fromstring(html)
    for _element, _attribute, link, _pos in document.iterlinks():
        yield link


def check_links(root: Path, domain: str, sources: Mapping[str, str] | None = None) -> list[Problem]:
    """Problems for internal links in ``root``'s HTML that resolve to no built file.

    ``sources`` maps a page URL to the content file it was rendered from, so that the problem
    names the file a writer can fix.
    """
    sources = sources or {}
    broken: dict[tuple[str | None, str], list[str]] = {}
    for file in sorted(root.rglob("*.html")):
        url = page_url(root, file)
        for link in iter_links(file.read_bytes()):
            target = internal_path(link, url, domain)
            if target is None or target.startswith(DYNAMIC_PREFIX) or resolves(root, target):
                continue
            pages = broken.setdefault((sources.get(url), link), [])
            if url not in pages:
                pages.append(url)
    problems = []
    for (source, link), pages in broken.items():
        target = internal_path(link, pages[0], domain) or link
        hint = (
            "add the trailing slash" if resolves(root, target + "/") else "fix or remove the link"
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
    return problems


def internal_path(link: str, page: str, domain: str) -> str | None:
    """The site path ``link`` points to, or None when it leaves the site or is a fragment."""
    link = link.strip()
    if not link or link.startswith("#") or link.lower().startswith(SKIPPED_SCHEMES):
        return None
    parts = urlsplit(urljoin(f"https://{domain}{page}", link))
    if parts.scheme not in ("http", "https") or parts.hostname != domain:
        return None
    return unquote(parts.path) or "/"


def resolves(root: Path, path: str) -> bool:
    relative = path.lstrip("/")
    if path.endswith("/"):
        relative += "index.html"
    target = (root / relative).resolve()
    return target.is_file() and target.is_relative_to(root.resolve())
