"""Markdown to HTML, the way every post and page is converted.

Python-Markdown with fenced code highlighted by Pygments, tables, footnotes and a table of
contents with heading anchors. Links to another post by its file (``[text](other-post.md)``)
become placeholders that each tenant resolves (see :mod:`renderer.content.catalog`), so a post
shared by several tenants is converted once.
"""

from __future__ import annotations

import functools
import posixpath
import re
import xml.etree.ElementTree as etree
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import markdown
from markdown.extensions import Extension
from markdown.extensions.toc import TocExtension
from markdown.treeprocessors import Treeprocessor
from pygments.formatters import HtmlFormatter

from floe.progress import Progress, Silent
from renderer.engine import cache_keys
from renderer.engine.parallel import fork_map

POST_LINK_PREFIX = "floe-post:"
POST_LINK = re.compile(r'(?P<attr>href|src)="floe-post:(?P<stem>[^"#]*)(?P<fragment>#[^"]*)?"')


@dataclass(frozen=True)
class Rendered:
    html: str
    toc: str
    post_links: frozenset[str]
    #: Text of the first paragraph, for a description when the writer gave none.
    first_paragraph: str = ""
    words: int = 0

    @functools.cached_property
    def digest(self) -> str:
        """Identifies the conversion's output, for page keys."""
        return cache_keys.digest(self.html, self.toc, self.first_paragraph, self.words)


class _PostLinks(Treeprocessor):
    """Turn relative links to ``*.md`` files into ``floe-post:STEM#fragment`` placeholders."""

    def run(self, root: etree.Element) -> None:
        found: set[str] = set()
        for element in root.iter("a"):
            href = element.get("href", "")
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.endswith(".md"):
                continue
            stem = posixpath.basename(parts.path)[: -len(".md")]
            found.add(stem)
            fragment = f"#{parts.fragment}" if parts.fragment else ""
            element.set("href", f"{POST_LINK_PREFIX}{stem}{fragment}")
        self.md.post_links = found  # type: ignore[attr-defined]
        assets = getattr(self.md, "floe_assets", None) or {}
        for image in root.iter("img"):
            # Post images sit below the title: never in the first screen, so load them lazily.
            image.set("loading", "lazy")
            image.set("decoding", "async")
            asset = assets.get(image.get("src", "").removeprefix("/static/"))
            if asset is not None and image.get("src", "").startswith("/static/"):
                image.set("src", asset.url)
                if asset.width and not image.get("width"):
                    image.set("width", str(asset.width))
                    image.set("height", str(asset.height))


class _PostLinkExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_PostLinks(md), "floe_post_links", 1)


#: One formatter per set of options, for the whole process (see :func:`highlight_formatter`).
_formatters: dict[str, HtmlFormatter] = {}


def highlight_formatter(lang_str: str = "", **options: Any) -> HtmlFormatter:
    """Pygments' HTML formatter for CodeHilite, one per set of options in each process.

    CodeHilite asks for a formatter per code block (``pygments_formatter`` may be any callable
    that returns one), and building a formatter's style tables is most of its cost. The pages
    use CSS classes (the stylesheet is generated once per tenant), so blocks with the same
    options share one formatter, as Pygments allows: formatting does not change it.
    ``lang_str`` is not a formatter option (CodeHilite passes it to custom formatters).
    """
    key = cache_keys.canonical_json(options)
    formatter = _formatters.get(key)
    if formatter is None:
        formatter = _formatters[key] = HtmlFormatter(**options)
    return formatter


def _new_converter() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "fenced_code",
            "codehilite",
            "tables",
            "footnotes",
            "attr_list",
            "sane_lists",
            TocExtension(
                permalink="#",
                permalink_class="anchor",
                permalink_title="Link to this section",
                toc_depth="2-4",
            ),
            _PostLinkExtension(),
        ],
        extension_configs={
            "codehilite": {
                "css_class": "highlight",
                "guess_lang": False,
                "pygments_formatter": highlight_formatter,
            }
        },
        output_format="html",
    )


_converter: markdown.Markdown | None = None


def render_markdown(text: str, assets: Mapping[str, Any] | None = None) -> Rendered:
    """Convert markdown to HTML; one converter per process, reset between documents.

    ``assets`` maps paths under /static/ to fingerprinted assets, so images get their
    cacheable URL, width and height.
    """
    global _converter
    if _converter is None:
        _converter = _new_converter()
    md = _converter.reset()
    md.floe_assets = assets  # type: ignore[attr-defined]
    html = md.convert(text)
    toc = md.toc if getattr(md, "toc_tokens", None) else ""  # type: ignore[attr-defined]
    first, words = _text_facts(html)
    rendered = Rendered(html, toc, frozenset(getattr(md, "post_links", ())), first, words)
    _ = rendered.digest  # computed once, and kept with the conversion
    return rendered


_STATIC_REF = re.compile(r"/static/([^\s)\"'>]+)")


def asset_refs(text: str) -> set[str]:
    """The files under /static/ that markdown ``text`` names."""
    return set(_STATIC_REF.findall(text)) if "/static/" in text else set()


def conversion_key(text: str, assets: Mapping[str, Any] | None) -> str:
    """What a conversion depends on: the text and the fingerprints of the assets it names."""
    names = sorted(asset_refs(text))
    if not names:
        return cache_keys.digest_text(text)
    urls = [[name, a.url if (a := (assets or {}).get(name)) else None] for name in names]
    return cache_keys.digest(text, urls)


def convert_all(
    texts: list[str],
    assets: Mapping[str, Any] | None,
    cache: MutableMapping[str, Rendered] | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    keys: list[str] | None = None,
) -> list[Rendered]:
    """``render_markdown`` for each text: from ``cache`` (conversion key → result) when it has
    it, the rest in ``jobs`` processes; identical texts are converted once. ``keys`` are the
    texts' conversion keys when the caller has them."""
    if cache is None:
        cache = {}
    if keys is None:
        keys = [conversion_key(text, assets) for text in texts]
    missing: dict[str, str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in missing and cache.get(key) is None:
            missing[key] = text
    progress = progress or Silent()
    if missing:
        progress.start("Converting markdown", len(missing))
    converted = fork_map(
        _convert,
        assets,
        list(missing.values()),
        jobs,
        minimum=32,
        on_done=lambda _: progress.advance(),
    )
    for key, result in zip(missing, converted, strict=True):
        cache[key] = result
    return [cache.get(key) for key in keys]  # type: ignore[misc]


def _convert(assets: Mapping[str, Any] | None, text: str) -> Rendered:
    return render_markdown(text, assets)


def _text_facts(html: str) -> tuple[str, int]:
    if not html.strip():
        return "", 0
    import lxml.html  # only conversions need it

    root = lxml.html.fragment_fromstring(html, create_parent="div")
    first = next(
        (" ".join(p.text_content().split()) for p in root.iter("p") if p.text_content().strip()), ""
    )
    return first, len(root.text_content().split())


def summarize(text: str, limit: int = 155) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.-\u2013\u2014") + "…"
