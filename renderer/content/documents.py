"""The records writers' files become: posts, landing pages, tags and the corpus of a build.

Each is checked once per build (see :mod:`renderer.content.front_matter_checks`) and converted
once, whatever the number of tenants it appears on.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from markdown.extensions.toc import slugify

from floe.errors import Problem
from renderer.content.markdown import Rendered
from renderer.content.snippets import SnippetSource
from renderer.engine import cache_keys

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


#: A feed entry id the writer may give: a tag URI (RFC 4151), a URN (RFC 8141) or an https
#: URL, in the characters URIs allow (RFC 3986).
_URI_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"


ENTRY_ID = re.compile(
    rf"^(?:tag:[a-z0-9.-]+(?:@[^\s,]+)?,\d{{4}}(?:-\d{{2}}(?:-\d{{2}})?)?:{_URI_CHARS}*"
    rf"|urn:[A-Za-z0-9][A-Za-z0-9-]{{0,31}}:{_URI_CHARS}+"
    rf"|https://[A-Za-z0-9.-]+(?::\d+)?(?:/{_URI_CHARS}*)?)$"
)


#: Top-level paths the renderer owns; a landing page cannot take them.
RESERVED_PAGES = frozenset({"blog", "static", "app", "assets", "404", "feed", "sitemap", "tag"})


@functools.cache
def tag_slug(tag: str) -> str:
    return slugify(tag, "-")


@dataclass(frozen=True, kw_only=True)
class Document:
    """What posts and landing pages have in common: markdown, and where it came from."""

    body: str = ""
    #: The file line the body starts on, for messages.
    body_line: int = 1
    #: The converted markdown; None for drafts not included in a build.
    rendered: Rendered | None = None
    #: Snippets the body includes, nested ones too.
    snippets: frozenset[str] = frozenset()
    #: Line of each front-matter field, for messages.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Post(Document):
    """One blog post, as the writer declared it, converted to HTML once."""

    file: str
    stem: str
    slug: str
    title: str
    date: dt.date
    description: str
    tags: tuple[str, ...]
    tenants: tuple[str, ...]
    canonical_tenant: str
    draft: bool = False
    updated: dt.date | None = None
    aliases: tuple[str, ...] = ()
    #: Optional: the tenant's author and share image are used when these are empty.
    author: str = ""
    image: str = ""
    #: The Atom entry id the writer gave (front matter ``id``); see :meth:`atom_id`.
    entry_id: str = ""

    @property
    def url(self) -> str:
        return f"/blog/{self.slug}/"

    @property
    def first_address(self) -> str:
        """The post's first published address: its oldest alias (the first listed), else its
        URL. A renamed post keeps it, so feed readers do not show it again as a new post."""
        return self.aliases[0] if self.aliases else self.url

    def atom_id(self, domain: str) -> str:
        """The feed entry's id on the site at ``domain``, which never changes (RFC 4287
        §4.2.6): the front matter's ``id``, else a tag URI (RFC 4151) of the first address."""
        return self.entry_id or f"tag:{domain},{self.date.isoformat()}:{self.first_address}"

    @property
    def last_modified(self) -> dt.date:
        return self.updated or self.date

    @property
    def reading_minutes(self) -> int:
        words = self.rendered.words if self.rendered else 0
        return max(1, round(words / 230))

    @functools.cached_property
    def listing_digest(self) -> str:
        """Everything a listing (blog index, tag page, related posts) shows of the post."""
        fields = (
            self.slug,
            self.title,
            self.date,
            self.updated,
            self.description,
            self.draft,
            self.tags,
            self.reading_minutes,
            self.canonical_tenant,
            self.author,
            self.entry_id,
        )
        return cache_keys.digest(*fields)

    def is_live(self, today: dt.date) -> bool:
        return not self.draft and self.date <= today


@dataclass(frozen=True)
class LandingPage(Document):
    """A tenant's landing page (home, pricing, features …), rendered with its own template."""

    file: str
    tenant: str
    name: str
    title: str
    description: str
    template: str
    hero: Mapping[str, str] | None

    @property
    def url(self) -> str:
        return "/" if self.name == "home" else f"/{self.name}/"

    @property
    def base(self) -> str:
        """The page this one is a split-test variant of (``pricing@annual`` → ``pricing``)."""
        return self.name.partition("@")[0]

    @property
    def variant(self) -> str | None:
        """The variant key, for a split-test variant's file (``<page>@<variant>.md``)."""
        return self.name.partition("@")[2] or None


@dataclass(frozen=True)
class Tag:
    name: str
    slug: str
    posts: tuple[Post, ...]

    @property
    def url(self) -> str:
        return f"/blog/tag/{self.slug}/"


@dataclass
class Corpus:
    """Everything in ``content/`` that a build includes, checked and converted."""

    posts: list[Post]
    pages: list[LandingPage]
    snippets: dict[str, SnippetSource]
    drafts: bool
    today: dt.date
    problems: list[Problem] = field(default_factory=list)

    def included(self, post: Post) -> bool:
        """Whether the build publishes ``post`` (``--drafts`` adds drafts and scheduled posts)."""
        return self.drafts or post.is_live(self.today)
