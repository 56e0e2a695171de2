"""What one tenant's site contains: its posts, tags and pages, with links resolved for it."""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

from flask import current_app

from floe.errors import Problem
from floe.tenants import Tenant
from renderer.content.documents import Corpus, LandingPage, Post, Tag, tag_slug
from renderer.content.markdown import POST_LINK
from renderer.engine import cache_keys


@dataclass
class Catalog:
    tenant: Tenant
    posts: list[Post]
    tags: dict[str, Tag]
    pages: dict[str, LandingPage]
    #: file → the URL of each post it links to by file (``other.md`` → ``/blog/other/``)
    links: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Old paths of renamed posts → the post (served as 301s and fallback pages).
    aliases: dict[str, Post] = field(default_factory=dict)
    #: Related posts found by earlier builds, by what they depend on (see ``related``).
    memo: MutableMapping[tuple, list[str]] | None = None

    def post(self, slug: str) -> Post | None:
        return self._by_slug.get(slug)

    def __post_init__(self) -> None:
        self._by_slug = {post.slug: post for post in self.posts}
        self._order = {post.file: i for i, post in enumerate(self.posts)}  # newest first
        self._related: dict[tuple[str, int], list[Post]] = {}
        self._tag_index: dict[str, tuple[int, ...]] = {}
        self._tag_digests: dict[str, str] = {}

    def body(self, record: Post | LandingPage) -> str:
        """The record's HTML with its links to other posts resolved for this tenant."""
        assert record.rendered is not None
        targets = self.links.get(record.file)
        if not targets:
            return record.rendered.html

        def resolve(match: re.Match) -> str:
            url = targets.get(match.group("stem"), "#")
            return f'{match.group("attr")}="{url}{match.group("fragment") or ""}"'

        return POST_LINK.sub(resolve, record.rendered.html)

    def related(self, post: Post, count: int = 3) -> list[Post]:
        """Posts of this tenant sharing most tags with ``post``; newer first among equals."""
        if (post.file, count) not in self._related:
            found = [self.tags[slug] for slug in map(tag_slug, post.tags) if slug in self.tags]
            # The answer depends only on the posts of these tags, in order: a build where
            # those lists did not change reuses it.
            key = (self.tenant.key, post.file, count, tuple(self._tag_digest(t) for t in found))
            files = self.memo.get(key) if self.memo is not None else None
            if files is None:
                shared: Counter[int] = Counter()
                for tag in found:
                    shared.update(self._tag_indexes(tag))
                shared.pop(self._order[post.file], None)
                # One integer orders candidates: most shared tags first, then newest.
                size = len(self.posts)
                best = heapq.nsmallest(count, ((-n) * size + i for i, n in shared.items()))
                files = [self.posts[key % size].file for key in best]
                if self.memo is not None:
                    self.memo[key] = files
            self._related[post.file, count] = [self.posts[self._order[f]] for f in files]
        return self._related[post.file, count]

    def _tag_digest(self, tag: Tag) -> str:
        if tag.slug not in self._tag_digests:
            self._tag_digests[tag.slug] = cache_keys.digest([p.file for p in tag.posts])
        return self._tag_digests[tag.slug]

    def _tag_indexes(self, tag: Tag) -> tuple[int, ...]:
        if tag.slug not in self._tag_index:
            self._tag_index[tag.slug] = tuple(self._order[p.file] for p in tag.posts)
        return self._tag_index[tag.slug]


def build_catalogs(
    corpus: Corpus,
    tenants: Mapping[str, Tenant],
    memo: MutableMapping[tuple, list[str]] | None = None,
) -> tuple[dict[str, Catalog], list[Problem]]:
    """One catalog per tenant, and every link that cannot be resolved."""
    problems: list[Problem] = []
    by_stem = {post.stem: post for post in corpus.posts}
    catalogs = {}
    for key, tenant in tenants.items():
        posts = [p for p in corpus.posts if key in p.tenants and corpus.included(p)]
        grouped: dict[str, list[Post]] = {}
        names: dict[str, str] = {}
        for post in posts:
            for tag in post.tags:
                slug = tag_slug(tag)
                grouped.setdefault(slug, []).append(post)
                names.setdefault(slug, tag)
        tags = {slug: Tag(names[slug], slug, tuple(grouped[slug])) for slug in sorted(grouped)}
        pages = {p.name: p for p in corpus.pages if p.tenant == key}
        catalog = Catalog(tenant, posts, tags, pages, memo=memo)
        _collect_aliases(catalog, problems)
        resolved: dict[str, str] = {}  # many records link to the same posts
        records: list[Post | LandingPage] = [*posts, *pages.values()]
        for record in records:
            if record.rendered and record.rendered.post_links:
                catalog.links[record.file] = _link_targets(
                    record, key, by_stem, corpus, tenants, problems, resolved
                )
        catalogs[key] = catalog
    return catalogs, problems


def _link_targets(
    record: Post | LandingPage,
    tenant: str,
    by_stem: Mapping[str, Post],
    corpus: Corpus,
    tenants: Mapping[str, Tenant],
    problems: list[Problem],
    resolved: dict[str, str],
) -> dict[str, str]:
    """Where each post the record links to by file lives, seen from ``tenant``: on this
    site, or at its canonical home on another; each broken link is a problem. ``resolved``
    remembers the URLs found for ``tenant``."""
    assert record.rendered is not None
    targets = {}
    for stem in sorted(record.rendered.post_links):
        if stem in resolved:
            targets[stem] = resolved[stem]
            continue
        target = by_stem.get(stem)
        if target is None:
            problems.append(
                Problem(
                    record.file,
                    _line_of(record, f"{stem}.md"),
                    None,
                    f"broken link '{stem}.md': there is no content/posts/{stem}.md",
                    "fix the file name or remove the link",
                )
            )
        elif not corpus.included(target):
            state = "a draft" if target.draft else f"scheduled for {target.date}"
            problems.append(
                Problem(
                    record.file,
                    _line_of(record, f"{stem}.md"),
                    None,
                    f"link to '{stem}.md', which is {state} and not published",
                    "remove the link until that post is live",
                )
            )
        elif tenant in target.tenants:
            targets[stem] = resolved[stem] = target.url
        else:
            url = tenants[target.canonical_tenant].base_url + target.url
            targets[stem] = resolved[stem] = url
    return targets


def _line_of(record: Post | LandingPage, needle: str) -> int | None:
    for offset, line in enumerate(record.body.split("\n")):
        if needle in line:
            return record.body_line + offset
    return None


def current_catalog() -> Catalog:
    """The catalog of the tenant whose app is handling the request."""
    return current_app.extensions["floe.catalog"]


def _collect_aliases(catalog: Catalog, problems: list[Problem]) -> None:
    taken = {p.url for p in catalog.posts} | {p.url for p in catalog.pages.values()}
    for post in catalog.posts:
        for alias in post.aliases:
            other = catalog.aliases.get(alias)
            if alias in taken or alias.rstrip("/") + "/" in taken:
                problems.append(
                    Problem(
                        post.file,
                        None,
                        "aliases",
                        f"{alias} is the address of a page that exists",
                        "an alias is an old address no page uses any more",
                    )
                )
            elif other is not None and other is not post:
                problems.append(
                    Problem(
                        post.file,
                        None,
                        "aliases",
                        f"{alias} is also an alias of {other.file}",
                        "an old address can redirect to one post only",
                    )
                )
            else:
                catalog.aliases[alias] = post
