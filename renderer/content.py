"""Writers' content as typed records: posts, landing pages and snippets, validated once per build.

Flask-FlatPages reads ``content/`` (see :mod:`renderer.frontmatter`); this module checks every
front-matter field, expands snippets and converts markdown once per post, whatever the number
of tenants it appears on.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flask import Flask
from markdown.extensions.toc import slugify

from floe.errors import Problem, SourceError
from floe.fields import Fields
from floe.outputpath import HINT as PATH_HINT
from floe.outputpath import output_path_problem
from floe.tenants import Tenant
from renderer.frontmatter import (
    READ_ENCODING,
    ContentPages,
    FrontMatter,
    SourcePage,
    parse_front_matter,
)
from renderer.markdown import Rendered, asset_refs, conversion_key, convert_all
from renderer.progress import Progress
from renderer.records import RecordStore, snippet_hashes
from renderer.snippets import SnippetSource, expand_snippets

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: A feed entry id the writer may give: a tag URI (RFC 4151), a URN (RFC 8141) or an https
#: URL, in the characters URIs allow (RFC 3986).
_URI_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
ENTRY_ID = re.compile(
    rf"^(?:tag:[a-z0-9.-]+(?:@[^\s,]+)?,\d{{4}}(?:-\d{{2}}(?:-\d{{2}})?)?:{_URI_CHARS}*"
    rf"|urn:[A-Za-z0-9][A-Za-z0-9-]{{0,31}}:{_URI_CHARS}+"
    rf"|https://[A-Za-z0-9.-]+(?::\d+)?(?:/{_URI_CHARS}*)?)$"
)
POST_KEYS = (
    "title",
    "date",
    "description",
    "tags",
    "tenants",
    "draft",
    "updated",
    "slug",
    "aliases",
    "canonical_tenant",
    "author",
    "image",
    "id",
)
PAGE_KEYS = ("title", "description", "template", "hero")
HERO_KEYS = ("headline", "subhead", "cta_label", "cta_href")
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
        return hashlib.blake2b(repr(fields).encode(), digest_size=16).hexdigest()

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

    @property
    def canonical_url(self) -> str:
        """A variant's canonical URL is its original page's."""
        return "/" if self.base == "home" else f"/{self.base}/"


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


class ContentReader:
    """Reads ``content/`` through Flask-FlatPages, reusing unchanged files between reads."""

    def __init__(
        self, content_dir: Path, front_matter: MutableMapping[str, FrontMatter] | None = None
    ):
        self.content_dir = content_dir
        #: Parsed front matter by its text, kept between builds by the build cache.
        self.front_matter: MutableMapping[str, FrontMatter] = (
            {} if front_matter is None else front_matter
        )
        # FlatPages reads its settings from a Flask app; this one only carries them.
        self._app = Flask("floe-content", root_path=str(content_dir))
        self._app.config.update(
            FLATPAGES_ROOT=str(content_dir),
            FLATPAGES_EXTENSION=".md",
            FLATPAGES_AUTO_RELOAD=False,
            FLATPAGES_ENCODING=READ_ENCODING,
        )
        self.pages = ContentPages(self._app)

    def read(self) -> dict[str, SourcePage]:
        """All ``.md`` files by path without extension (``posts/x``, ``pages/t/home`` …)."""
        self.pages.reload()
        with self._app.app_context():
            return {page.path: page for page in self.pages}  # type: ignore[misc]

    def parse(self, path: str, data: bytes) -> SourcePage:
        """The page of one file whose bytes the caller read, parsed as :meth:`read` does."""
        folder = os.path.dirname(path).replace("/", os.sep)
        with self._app.app_context():
            return self.pages.page_from_bytes(data, path, folder)


def load_corpus(
    content_dir: Path,
    tenants: Mapping[str, Tenant],
    *,
    drafts: bool = False,
    today: dt.date | None = None,
    reader: ContentReader | None = None,
    display_root: Path | None = None,
    assets: Mapping[str, Any] | None = None,
    conversions: MutableMapping[str, Rendered] | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    records: RecordStore | None = None,
) -> Corpus:
    """Load and check all content; raise :class:`SourceError` listing every problem.

    ``assets`` (fingerprinted files of site/static) lets images and share images be checked
    and given their cacheable URLs. ``conversions`` caches markdown conversions between builds.
    ``records`` (see :mod:`renderer.records`) holds the last build's records: those made from
    the same file in the same context are reused, and only the other files are read.
    """
    today = today or dt.date.today()
    reader = reader or ContentReader(content_dir)
    root = display_root or content_dir.parent
    paths, page = _source_pages(reader, records)
    prefix = _display(content_dir, root, "x")[: -len("x.md")]  # "content/", usually
    shown = {path: f"{prefix}{path}.md" for path in paths}
    problems: list[Problem] = []
    page = _readable(page, shown, problems)
    snippets = {
        path[len("snippets/") :]: _snippet(path, shown[path], page(path))
        for path in paths
        if path.startswith("snippets/")
    }
    corpus = Corpus(posts=[], pages=[], snippets=snippets, drafts=drafts, today=today)
    hashes = snippet_hashes({name: snippet.text for name, snippet in snippets.items()})
    context = _Context(tuple(tenants), assets, hashes)
    reused: list[Post | LandingPage] = []
    fresh: list[Post | LandingPage] = []
    for path in paths:
        folder, _, rest = path.partition("/")
        if folder not in ("posts", "pages") or (folder == "posts" and "/" in rest):
            continue
        found = None if records is None else _reuse(records, path, shown[path], context, corpus)
        if found is not None:
            reused.append(found)
        elif folder == "posts":
            post = _read_post(
                page(path), shown[path], rest, tenants, problems, assets, reader.front_matter
            )
            fresh += [post] if post is not None else []
        else:
            landing = _read_page(
                page(path), shown[path], rest, tenants, problems, reader.front_matter
            )
            fresh += [landing] if landing is not None else []

    converted = _expand_all(
        fresh,
        lambda r: isinstance(r, LandingPage) or corpus.included(r),
        snippets,
        problems,
        assets,
        conversions,
        jobs,
        progress,
    )
    if records is not None:
        _keep_all(records, converted, {file: path for path, file in shown.items()}, context)
    every = [*reused, *(made.record for made in converted)]
    corpus.posts = sorted(
        (p for p in every if isinstance(p, Post)), key=lambda p: (p.date, p.slug), reverse=True
    )
    corpus.pages = sorted(
        (p for p in every if isinstance(p, LandingPage)), key=lambda p: (p.tenant, p.name)
    )
    _check_slugs(corpus.posts, tenants, problems)
    _check_entry_ids(corpus.posts, tenants, problems)
    _check_home_pages(corpus.pages, tenants, content_dir, root, problems)
    if problems:
        raise SourceError(problems)
    return corpus


def _source_pages(
    reader: ContentReader, records: RecordStore | None
) -> tuple[list[str], Callable[[str], SourcePage]]:
    """Every content path, and how to get its page: all read now through Flask-FlatPages, or
    (with ``records``) each read when asked, only for the files whose record is not reused."""
    if records is None:
        pages = reader.read()
        return sorted(pages), pages.__getitem__

    def page(path: str) -> SourcePage:
        return reader.parse(path, records.files.data(path))

    return records.files.paths(), page


def _readable(
    page: Callable[[str], SourcePage], shown: Mapping[str, str], problems: list[Problem]
) -> Callable[[str], SourcePage]:
    """``page``, recording the problem of each file that is not UTF-8 (its page is empty)."""

    def checked(path: str) -> SourcePage:
        found = page(path)
        if found.not_utf8 is not None:
            problems.append(replace(found.not_utf8, file=shown[path]))
        return found

    return checked


def _snippet(path: str, file: str, page: SourcePage) -> SnippetSource:
    return SnippetSource(path[len("snippets/") :], file, page.body, page.body_line)


@dataclass(frozen=True)
class _Context:
    """What a record depends on besides its own file."""

    tenants: tuple[str, ...]
    assets: Mapping[str, Any] | None
    #: snippet name → hash of its text
    snippets: Mapping[str, str]


def _reuse(
    records: RecordStore, path: str, file: str, context: _Context, corpus: Corpus
) -> Post | LandingPage | None:
    """The last build's record of ``path`` if still valid, converted as this build needs."""
    found = records.reuse(path, file, context.tenants, context.assets, context.snippets)
    if found is None:
        return None
    if isinstance(found, LandingPage) or corpus.included(found):
        return found if found.rendered is not None else None  # published now: convert it
    return found if found.rendered is None else replace(found, rendered=None)


def _keep_all(
    records: RecordStore, converted: list[_Made], path_of: Mapping[str, str], context: _Context
) -> None:
    """Remember the records this build made, for the next one."""
    for made in converted:
        if isinstance(made.record, Post):  # computed here, so that the build cache keeps it
            _ = made.record.listing_digest
        records.keep(
            path_of[made.record.file],
            made.record,
            context.tenants,
            context.assets,
            _asset_names(made),
            context.snippets,
            made.conversion,
        )


def _asset_names(made: _Made) -> set[str]:
    """Assets whose fingerprint the record depends on: its image and those its text names."""
    names = set(made.assets)
    if isinstance(made.record, Post) and made.record.image.startswith("/static/"):
        names.add(made.record.image.removeprefix("/static/"))
    return names


def _display(content_dir: Path, root: Path, path: str) -> str:
    full = content_dir / f"{path}.md"
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        return full.as_posix()


def _front_matter(
    page: SourcePage, file: str, problems: list[Problem], memo: MutableMapping[str, FrontMatter]
) -> FrontMatter | None:
    if page.not_utf8 is not None:  # reported when it was read
        return None
    if page.split_problem:
        problems.append(
            Problem(file, 1, None, page.split_problem, "end the front matter with '---'")
        )
        return None
    if not page.has_front_matter:
        problems.append(
            Problem(
                file,
                1,
                None,
                "no front matter",
                "start the file with '---', then 'title: …' and 'date: …', then '---'",
            )
        )
        return None
    cached = memo.get(page._meta)
    if cached is not None:
        return cached
    meta, found = parse_front_matter(page._meta, file)
    if not found:
        memo[page._meta] = meta
    problems.extend(found)
    return None if found else meta


class _Fields(Fields):
    """Front-matter fields: each problem on its field's line; a missing one is added as
    ``key: …``."""

    missing_message = "required field is missing"

    def __init__(self, meta: FrontMatter, file: str, problems: list[Problem]):
        lines = meta.lines
        super().__init__(meta.data, file, problems, line=lambda k: lines.get(k, 1), table_line=1)

    def missing_hint(self, field: str, example: str = "…") -> str:
        return f"add '{field}: {example}' to the front matter"

    def unknown(
        self,
        known: Iterable[str],
        message: str = "unknown front-matter field",
        hint: str = "known fields: ",
    ) -> None:
        super().unknown(known, message, hint)

    def strings(
        self,
        field: str,
        message: str = "must be a list of text",
        hint: str | None = None,
        *,
        required: bool = False,
    ) -> tuple[str, ...]:
        return tuple(v.strip() for v in super().strings(field, message, hint) or ())


def _read_post(
    page: SourcePage,
    file: str,
    stem: str,
    tenants: Mapping[str, Tenant],
    problems: list[Problem],
    assets: Mapping[str, Any] | None,
    memo: MutableMapping[str, FrontMatter],
) -> Post | None:
    meta = _front_matter(page, file, problems, memo)
    if meta is None:
        return None
    f = _Fields(meta, file, problems)
    f.unknown(POST_KEYS)
    title = f.text("title", required=True)
    date = f.date("date", required=True)
    updated = f.date("updated")
    if date and updated and updated < date:
        f.problem(
            "updated",
            f"{updated} is before the post's date {date}",
            "updated is when the post last changed, on or after its date",
        )
    tags = f.strings("tags", hint="write tags: [pricing, invoicing]")
    listed = f.strings(
        "tenants", hint="write tenants: [" + ", ".join(tenants) + "], or leave it out for all"
    )
    for name in listed:
        if name not in tenants:
            f.problem("tenants", f"unknown tenant {name!r}", "known tenants: " + ", ".join(tenants))
    post_tenants = listed or tuple(tenants)
    canonical = f.text("canonical_tenant", default=post_tenants[0] if post_tenants else "")
    if "canonical_tenant" in meta.data and canonical not in post_tenants:
        f.problem(
            "canonical_tenant",
            f"{canonical!r} is not one of this post's tenants",
            "choose one of: " + ", ".join(post_tenants),
        )
    slug = f.text("slug", default="")
    if slug and not SLUG.match(slug):
        f.problem("slug", f"{slug!r} is not a URL slug", "use lowercase words joined by '-'")
    elif slug:
        f.address("slug", slug)
    if not slug:
        slug = stem if SLUG.match(stem) else tag_slug(stem)
        if output_path_problem(slug) is not None:
            f.problem(
                "slug",
                f"the file name {stem!r} gives no usable address ({slug!r})",
                "set 'slug: …' (lowercase words joined by '-') or rename the file",
            )
    for tag in tags:
        f.address("tags", tag_slug(tag), f"tag {tag!r} (address {tag_slug(tag)!r})")
    aliases = f.strings("aliases", hint="write aliases: [/blog/old-name/]")
    for alias in aliases:
        if not alias.startswith("/") or "//" in alias or " " in alias:
            f.problem("aliases", f"{alias!r} is not a site path", "write it like /blog/old-name/")
        else:
            f.address("aliases", alias)
    author, image = f.text("author"), _image(f, assets)
    entry_id = f.text("id")
    if entry_id and not ENTRY_ID.match(entry_id):
        f.problem(
            "id",
            f"{entry_id!r} is not a tag:, urn: or https:// URI",
            "leave it out (the post's first address gives its id), or write it like "
            "tag:tallystack.example,2026-03-14:day-rates",
        )
    if not f.ok or date is None:
        return None
    return Post(
        file=file,
        stem=stem,
        slug=slug,
        title=title,
        date=date,
        description=f.text("description"),
        tags=tuple(dict.fromkeys(tags)),
        tenants=post_tenants,
        canonical_tenant=canonical,
        draft=f.flag("draft"),
        updated=updated,
        aliases=aliases,
        author=author,
        image=image,
        entry_id=entry_id,
        body=page.body,
        body_line=page.body_line,
        lines=meta.lines,
    )


def _image(f: _Fields, assets: Mapping[str, Any] | None) -> str:
    image = f.text("image")
    if not image:
        return ""
    if image.startswith("/static/"):
        if not f.address("image", image):
            return ""
        if assets is not None and image.removeprefix("/static/") not in assets:
            f.problem("image", f"no file site{image}", "put the image in site/static/")
        return image
    if not image.startswith("https://"):
        f.problem("image", f"{image!r} is neither under /static/ nor an https:// URL")
    return image


def _read_page(
    page: SourcePage,
    file: str,
    rest: str,
    tenants: Mapping[str, Tenant],
    problems: list[Problem],
    memo: MutableMapping[str, FrontMatter],
) -> LandingPage | None:
    tenant, _, name = rest.partition("/")
    if not name or "/" in name:
        problems.append(
            Problem(
                file,
                None,
                None,
                "landing pages live in content/pages/TENANT/NAME.md",
                "move the file into its tenant's folder",
            )
        )
        return None
    if tenant not in tenants:
        problems.append(
            Problem(
                file,
                None,
                None,
                f"folder {tenant!r} is not a tenant",
                "known tenants: " + ", ".join(tenants),
            )
        )
        return None
    base, at, variant = name.partition("@")  # pricing@annual: a split-test variant of pricing
    if base in RESERVED_PAGES or not SLUG.match(base) or (at and not SLUG.match(variant)):
        problems.append(
            Problem(
                file,
                None,
                None,
                f"{name!r} cannot be a page name",
                "use lowercase words joined by '-' (and PAGE@VARIANT for a split-test variant), "
                "not one of: " + ", ".join(sorted(RESERVED_PAGES)),
            )
        )
        return None
    reason = output_path_problem(name)
    if reason is not None:
        problems.append(Problem(file, None, None, f"page name {name!r} {reason}", PATH_HINT))
        return None
    meta = _front_matter(page, file, problems, memo)
    if meta is None:
        return None
    f = _Fields(meta, file, problems)
    f.unknown(PAGE_KEYS)
    hero = meta.data.get("hero")
    if hero is not None:
        if not isinstance(hero, dict):
            f.problem("hero", "must be a mapping", "keys: " + ", ".join(HERO_KEYS))
            hero = None
        else:
            for key in hero:
                if key not in HERO_KEYS:
                    f.problem("hero", f"unknown key {key!r}", "known keys: " + ", ".join(HERO_KEYS))
            hero = {k: str(v) for k, v in hero.items()}
    template = f.text("template", default="page.html")
    f.address("template", template)
    landing = LandingPage(
        file=file,
        tenant=tenant,
        name=name,
        title=f.text("title", required=True),
        description=f.text("description"),
        template=template,
        hero=hero,
        body=page.body,
        body_line=page.body_line,
        lines=meta.lines,
    )
    return landing if f.ok else None


@dataclass(frozen=True)
class _Made:
    """A record made from its file by this build."""

    record: Post | LandingPage
    #: The conversion's key (None: not published, not converted).
    conversion: str | None
    #: The assets its expanded markdown names.
    assets: frozenset[str]


def _expand_all(
    records: list[Any],
    published: Callable[[Any], bool],
    snippets: Mapping[str, SnippetSource],
    problems: list[Problem],
    assets: Mapping[str, Any] | None,
    conversions: MutableMapping[str, Rendered] | None,
    jobs: int,
    progress: Progress | None,
) -> list[_Made]:
    """Expand snippets in every record (to report problems, drafts too) and convert the
    markdown of the published ones: from ``conversions`` when it holds the same text, else
    in ``jobs`` processes."""
    expanded = []
    for record in records:
        try:
            result = expand_snippets(record.body, record.file, record.body_line, snippets)
        except SourceError as exc:
            problems.extend(exc.problems)
            continue
        expanded.append((record, result))
    texts = [result.text for record, result in expanded if published(record)]
    keys = [conversion_key(text, assets) for text in texts]
    conversions_made = convert_all(texts, assets, conversions, jobs, progress, keys)
    rendered = iter(zip(conversions_made, keys, strict=True))
    made = []
    for record, result in expanded:
        html, key = next(rendered) if published(record) else (None, None)
        made.append(
            _Made(
                replace(record, rendered=html, snippets=result.snippets),
                key,
                frozenset(asset_refs(result.text)),
            )
        )
    return made


def _check_slugs(posts: list[Post], tenants: Mapping[str, Tenant], problems: list[Problem]) -> None:
    for tenant in tenants:
        seen: dict[str, Post] = {}
        for post in sorted(posts, key=lambda p: p.file):
            if tenant not in post.tenants:
                continue
            other = seen.setdefault(post.slug, post)
            if other is not post:
                problems.append(
                    Problem(
                        post.file,
                        None,
                        "slug",
                        f"{post.slug!r} is also the slug of {other.file} on tenant {tenant!r}",
                        "set a different 'slug:' or rename the file",
                    )
                )


def _check_entry_ids(
    posts: list[Post], tenants: Mapping[str, Tenant], problems: list[Problem]
) -> None:
    """Each feed entry id belongs to one post (two posts with one id are one entry to readers)."""
    for key, tenant in tenants.items():
        domain = tenant.domain if tenant is not None else key
        seen: dict[str, Post] = {}
        for post in sorted(posts, key=lambda p: p.file):
            if key not in post.tenants:
                continue
            entry = post.atom_id(domain)
            other = seen.setdefault(entry, post)
            if other is not post:
                problems.append(
                    Problem(
                        post.file,
                        post.lines.get("id"),
                        "id",
                        f"feed entry id {entry!r} is also the id of {other.file}",
                        "give each post its own 'id:', or leave it out on one of them",
                    )
                )


def _check_home_pages(
    pages: list[LandingPage],
    tenants: Mapping[str, Tenant],
    content_dir: Path,
    root: Path,
    problems: list[Problem],
) -> None:
    have = {(p.tenant, p.name) for p in pages}
    for tenant in tenants:
        if (tenant, "home") not in have:
            file = _display(content_dir, root, f"pages/{tenant}/home")
            if not (content_dir / "pages" / tenant / "home.md").exists():
                problems.append(
                    Problem(
                        file,
                        None,
                        None,
                        f"tenant {tenant!r} has no home page",
                        "create this file with a title and template: home.html",
                    )
                )
