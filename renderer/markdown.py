"""Markdown to HTML, the way every post and page is converted.

Python-Markdown with fenced code highlighted by Pygments, tables, footnotes and a table of
contents with heading anchors. Links to another post by its file (``[text](other-post.md)``)
become placeholders that each tenant resolves (see :mod:`renderer.links`), so a post shared by
several tenants is converted once.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from urllib.parse import urlsplit

import markdown
from markdown.extensions import Extension
from markdown.extensions.toc import TocExtension
from markdown.treeprocessors import Treeprocessor

POST_LINK_PREFIX = "floe-post:"
POST_LINK = re.compile(r'(?P<attr>href|src)="floe-post:(?P<stem>[^"#]*)(?P<fragment>#[^"]*)?"')


@dataclass(frozen=True)
class Rendered:
    html: str
    toc: str
    post_links: frozenset[str]


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


class _PostLinkExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_PostLinks(md), "floe_post_links", 1)


def _new_converter() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "fenced_code",
            "codehilite",
            "tables",
            "footnotes",
            "attr_list",
            "sane_lists",
            "smarty",
            TocExtension(
                permalink="#",
                permalink_class="anchor",
                permalink_title="Link to this section",
                toc_depth="2-4",
            ),
            _PostLinkExtension(),
        ],
        extension_configs={"codehilite": {"css_class": "highlight", "guess_lang": False}},
        output_format="html",
    )


_converter: markdown.Markdown | None = None


def render_markdown(text: str) -> Rendered:
    """Convert markdown to HTML; one converter per process, reset between documents."""
    global _converter
    if _converter is None:
        _converter = _new_converter()
    md = _converter.reset()
    html = md.convert(text)
    toc = md.toc if getattr(md, "toc_tokens", None) else ""  # type: ignore[attr-defined]
    return Rendered(html, toc, frozenset(getattr(md, "post_links", ())))
