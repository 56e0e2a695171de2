"""Loading ``content/``: every post, landing page and snippet of a build, checked together.

Flask-FlatPages reads the files (see :mod:`renderer.content.flatpages_adapter`); each file's
front matter is checked (:mod:`renderer.content.front_matter_checks`), snippets are expanded
and markdown converted once per post, whatever the number of tenants it appears on; the last
build's records are reused for unchanged files (:mod:`renderer.content.record_store`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from floe.errors import Problem, SourceError
from floe.progress import Progress
from floe.tenants import Tenant
from renderer.content.documents import Corpus, LandingPage, Post
from renderer.content.flatpages_adapter import ContentReader, SourcePage
from renderer.content.front_matter_checks import read_page, read_post
from renderer.content.markdown import Rendered, asset_refs, conversion_key, convert_all
from renderer.content.record_store import RecordStore, snippet_hashes
from renderer.content.snippets import SnippetSource, expand_snippets


def load_corpus(
    content_dir: Path,
    tenants: Mapping[str, Tenant | None],
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
    ``records`` (see :mod:`renderer.content.record_store`) holds the last build's records:
    those made from the same file in the same context are reused, and only the other files
    are read.
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
            post = read_post(
                page(path), shown[path], rest, tenants, problems, assets, reader.front_matter
            )
            fresh += [post] if post is not None else []
        else:
            landing = read_page(
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


def _check_slugs(
    posts: list[Post], tenants: Mapping[str, Tenant | None], problems: list[Problem]
) -> None:
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
    posts: list[Post], tenants: Mapping[str, Tenant | None], problems: list[Problem]
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
    tenants: Mapping[str, Tenant | None],
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
