"""Incremental builds: what each page depends on, and the cache that remembers it.

Every page of a tenant gets a key, a digest of everything its HTML depends on: the code, the
tenant's settings, the templates it renders with (and the assets they name), and the content
it shows. A page whose key matches the last build's is not rendered again: its file is linked
from the current output. When a template depends on something this module cannot see, the
page depends on the whole catalog, so a build is never stale, only slower.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import pickle
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from renderer.content.catalog import Catalog
from renderer.content.corpus import LandingPage, Post
from renderer.content.markdown import Rendered
from renderer.content.record_store import Entry, FileState, PackedEntries, remove_unused_shards
from renderer.content.sources import Sources
from renderer.engine.fingerprint import code_digest
from renderer.engine.paths import inside
from renderer.views import blog
from renderer.views import crawler_files as seo
from renderer.views.asset_urls import BUNDLE, AssetManifest

CACHE_FORMAT = 3
_CATALOG_USE = re.compile(r"\bcatalog\b(?:\.(\w+))?")
#: extends/include/import/from: a quoted name, or anything else (chosen at run time).
_TEMPLATE_REF = re.compile(
    r"\{%-?\s*(?:extends|include|import|from)\s+(?:['\"]([^'\"]+)['\"]|([^'\"\s][^%]*))"
)
_ASSET_USE = re.compile(r"\basset(?:_url)?\(\s*(?:'([^']*)'|\"([^\"]*)\"|([^)]*))\)")


def code_version() -> str:
    """The cache's format with the digest of the code and libraries that shape output."""
    return f"{CACHE_FORMAT}:{code_digest()}"


@dataclass
class BuildCache:
    """What the last successful build knew; stored in ``build/.floe-cache``."""

    version: str
    #: conversion key → conversion (not stored: the records hold them)
    conversions: dict[str, Rendered] = field(default_factory=dict)
    #: content path (``posts/x``) → the file as the last build saw it
    files: dict[str, FileState] = field(default_factory=dict)
    #: content path → its record and what it was made from
    records: dict[str, Entry] = field(default_factory=dict)
    #: what related posts depend on → the related posts' files
    related: dict[tuple, list[str]] = field(default_factory=dict)
    #: tenant → URL → page key
    pages: dict[str, dict[str, str]] = field(default_factory=dict)
    #: tenant → URL of an HTML page → its links (see :func:`renderer.engine.linkcheck.pack`)
    links: dict[str, dict[str, bytes]] = field(default_factory=dict)
    #: tenant → what the last build changed in its tree
    trees: dict[str, Journal] = field(default_factory=dict)
    #: The build folder (``build/builds/<name>``) these pages, links and trees describe, and
    #: the one it replaced (see :mod:`renderer.engine.output`).
    generation: str | None = None
    previous: str | None = None
    #: The records as loaded, to store again only the shards that changed.
    packed: PackedEntries | None = field(default=None, repr=False, compare=False)
    #: The shard files that hold the records (see
    #: :class:`renderer.content.record_store.PackedEntries`).
    record_files: list[str] = field(default_factory=list)

    def __getstate__(self) -> dict:
        # The records are stored in their own files, and the conversions are theirs.
        return dict(self.__dict__, conversions={}, records={}, packed=None)


def load_cache(path: Path, expected_version: str) -> BuildCache:
    """The stored cache, or an empty one when it is missing, corrupt or of another version."""
    collecting = gc.isenabled()
    # Loading creates many objects and no garbage: collections would only slow it down.
    gc.disable()
    try:
        with path.open("rb") as file:
            cache = pickle.load(file)
        if isinstance(cache, BuildCache) and cache.version == expected_version:
            cache.packed = PackedEntries.load(path.parent, cache.record_files)
            cache.records = dict(cache.packed.entries)
            cache.conversions = {
                entry.conversion: entry.record.rendered
                for entry in cache.records.values()
                if entry.conversion is not None and entry.record.rendered is not None
            }
            return cache
    except Exception:  # any unreadable cache means a full build, never a failure
        pass
    finally:
        if collecting:
            gc.enable()
    return BuildCache(expected_version)


def save_cache(path: Path, cache: BuildCache) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cache.packed = PackedEntries.save(path.parent, cache.records, cache.packed)
    cache.record_files = cache.packed.names
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    with temporary.open("wb") as file:
        pickle.dump(cache, file, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)
    remove_unused_shards(path.parent, cache.record_files)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class _LazyDigests:
    """Digests of parts of the catalog, computed only when a template uses that part."""

    def __init__(self, **parts: Callable[[], str]):
        self._parts, self._done = parts, {}

    def get(self, part: str, default: str | None = None) -> str:
        name = part if part in self._parts else "everything"
        if name not in self._done:
            self._done[name] = self._parts[name]()
        return self._done[name]


class TemplateDependencies:
    """The templates a page renders with (extends, includes, imports), and what they use."""

    def __init__(self, app: Flask, manifest: AssetManifest, catalog_digests: _LazyDigests):
        self.env = app.jinja_env
        self.manifest = manifest
        self.catalog_digests = catalog_digests
        self._memo: dict[str, str] = {}

    def digest(self, name: str) -> str:
        if name not in self._memo:
            self._memo[name] = self._closure_digest(name)
        return self._memo[name]

    def _closure_digest(self, top: str) -> str:
        digest = hashlib.sha256()
        seen: set[str] = set()
        pending = [top]
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            source, filename, _ = self.env.loader.get_source(self.env, name)
            digest.update(f"{name}\0{filename}\0{source}\0".encode())
            for literal, dynamic in _TEMPLATE_REF.findall(source):
                if dynamic:  # a template chosen at run time: depend on all of them
                    digest.update(self._all_templates().encode())
                else:
                    pending.append(literal)
            for match in _ASSET_USE.finditer(source):
                literal = match.group(1) or match.group(2)
                if literal and literal in self.manifest:
                    digest.update(self.manifest[literal].url.encode())
                else:  # asset(tenant.logo) and the like: depend on every asset
                    digest.update(" ".join(a.url for a in self.manifest).encode())
            for match in _CATALOG_USE.finditer(source):
                digest.update(self.catalog_digests.get(match.group(1) or "everything").encode())
        return digest.hexdigest()

    def _all_templates(self) -> str:
        return _digest(
            *(self.env.loader.get_source(self.env, n)[0] for n in sorted(self.env.list_templates()))
        )


def _summary(post: Post) -> str:
    """What listings show of a post (a digest)."""
    return post.listing_digest


def _full(post: Post, catalog: Catalog) -> tuple:
    """Everything a post's own page and the feed show of it, on this tenant."""
    rendered = post.rendered
    return (
        _summary(post),
        post.tenants,
        post.aliases,
        post.image,
        rendered.digest if rendered else "",
        tuple(sorted(catalog.links.get(post.file, {}).items())),
    )


class _FullDigests:
    """The digest of :func:`_full` for each post of one tenant, computed once."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._done: dict[str, str] = {}

    def __call__(self, post: Post) -> str:
        found = self._done.get(post.file)
        if found is None:
            found = self._done[post.file] = _digest(_full(post, self.catalog))
        return found


def _landing(page: LandingPage, catalog: Catalog) -> tuple:
    first = page.rendered.first_paragraph if page.rendered else ""
    return (
        tuple(sorted(catalog.links.get(page.file, {}).items())),
        page.name,
        page.title,
        page.description,
        page.template,
        tuple(sorted((page.hero or {}).items())),
        catalog.body(page),
        first,
    )


def page_keys(app: Flask, sources: Sources, tenant: str) -> dict[str, str]:
    """The key of every URL of ``tenant``: a page whose key is unchanged is not rendered again.

    A URL missing from the result is always rendered.
    """
    catalog = sources.catalogs[tenant]
    manifest = sources.manifests[tenant]
    settings = sources.tenants[tenant]
    posts = catalog.posts
    tags_overview = tuple((t.slug, t.name, len(t.posts)) for t in catalog.tags.values())
    full = _FullDigests(catalog)
    catalog_digests = _LazyDigests(
        tags=lambda: _digest(tags_overview),
        everything=lambda: _digest(
            tuple(full(p) for p in posts),
            tuple(_landing(p, catalog) for p in catalog.pages.values()),
            tags_overview,
        ),
    )
    templates = TemplateDependencies(app, manifest, catalog_digests)
    # Tenants are hashed in many keys: their text once.
    tenant_text = {key: _digest(repr(value)) for key, value in sources.tenants.items()}
    shared_assets = tuple(
        manifest[n].url for n in (BUNDLE, settings.logo, settings.image) if n and n in manifest
    )
    tests = tuple(repr(e) for e in sources.experiments.values() if tenant in e.tenants)
    base = _digest(code_version_cached(), tenant_text[tenant], shared_assets, tests)
    keys: dict[str, str] = {}

    recent = tuple(_summary(p) for p in posts[:3])
    for page in catalog.pages.values():
        keys[page.url] = _digest(
            base, templates.digest(page.template), _landing(page, catalog), recent
        )

    last = blog.page_count(len(posts))
    for number in range(1, last + 1):
        shown = tuple(
            _summary(p) for p in posts[(number - 1) * blog.PER_PAGE : number * blog.PER_PAGE]
        )
        url = "/blog/" if number == 1 else f"/blog/page/{number}/"
        keys[url] = _digest(base, templates.digest("blog_index.html"), number, last, shown)

    post_template = templates.digest("post.html")
    for post in posts:
        home = tenant_text[post.canonical_tenant]
        related = tuple(_summary(p) for p in catalog.related(post))
        keys[post.url] = _digest(
            base,
            post_template,
            full(post),
            related,
            home,
            manifest[post.image].url if post.image.startswith("/static/") else "",
        )

    tag_template = templates.digest("tag.html")
    for tag in catalog.tags.values():
        keys[tag.url] = _digest(base, tag_template, tag.name, tuple(_summary(p) for p in tag.posts))

    keys["/feed.xml"] = _digest(
        base, templates.digest("feed.xml"), tuple(full(p) for p in posts[: seo.FEED_SIZE])
    )
    entries = tuple(f"{e.loc} {e.lastmod}" for e in seo.sitemap_entries(catalog))
    if len(entries) <= seo.SITEMAP_LIMIT:
        keys["/sitemap.xml"] = _digest(base, templates.digest("sitemap.xml"), entries)
    else:
        limit = seo.SITEMAP_LIMIT
        keys["/sitemap.xml"] = _digest(base, templates.digest("sitemap_index.xml"), entries)
        for number in range(1, (len(entries) + limit - 1) // limit + 1):
            part = entries[(number - 1) * limit : number * limit]
            keys[f"/sitemap-{number}.xml"] = _digest(base, templates.digest("sitemap.xml"), part)
    for asset in manifest:  # content-addressed: an existing file is the right one
        keys[asset.url] = asset.url
    aliases = tuple(sorted((alias, post.url) for alias, post in catalog.aliases.items()))
    keys["/robots.txt"] = _digest(base)
    keys["/_redirects"] = _digest(base, aliases)
    keys["/_headers"] = _digest(base)
    keys["/404.html"] = _digest(base, templates.digest("404.html"))
    alias_template = templates.digest("alias.html")
    for alias, post in catalog.aliases.items():
        home = tenant_text[post.canonical_tenant]
        keys[seo.alias_rule(alias)] = _digest(
            base, alias_template, alias, post.url, post.title, home
        )
    return keys


_code_version: str | None = None


def code_version_cached() -> str:
    global _code_version
    if _code_version is None:
        _code_version = code_version()
    return _code_version


@dataclass(frozen=True)
class Journal:
    """What a build changed in a tenant's tree: the next build replays it on the spare tree.

    The spare tree (the one the build replaced) plus these changes is the current tree, as
    long as nothing touched the spare since: a marker file next to it holds ``token``, written
    after the swap and deleted before the spare is changed. Without it, the next build mirrors
    the whole current tree instead.
    """

    token: str
    written: tuple[str, ...]
    removed: tuple[str, ...]


def _marker(spare: Path) -> Path:
    return spare.with_name(spare.name + ".journal")


def spare_journal(spare: Path, journal: Journal | None) -> Journal | None:
    """``journal`` if it describes ``spare`` as it is; from now on it no longer does."""
    marker = _marker(spare)
    try:
        token = marker.read_text()
    except OSError:
        token = None
    marker.unlink(missing_ok=True)
    if journal is None or not journal.token or token != journal.token or not spare.is_dir():
        return None
    return journal


def keep_journal(spare: Path, journal: Journal) -> Journal:
    """After the swap: ``spare`` (the replaced tree) plus ``journal`` is the current tree."""
    token = os.urandom(16).hex()
    _marker(spare).write_text(token)
    return Journal(token, journal.written, journal.removed)


def apply_journal(journal: Journal, current: Path, staging: Path) -> None:
    """Bring ``staging`` (the spare tree) up to ``current`` by replaying ``journal``.

    Written files become hard links to the current ones; only they cost system calls. A name
    that resolves outside either tree raises :class:`renderer.engine.paths.OutsideOutput` before
    anything is done with it.
    """
    folders = set()
    for rel in journal.written:
        target = inside(staging, rel)
        source = inside(current, rel)
        target.unlink(missing_ok=True)
        if target.parent not in folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            folders.add(target.parent)
        os.link(source, target)
    remove_files(staging, set(journal.removed))


def mirror_tree(source: Path, target: Path) -> set[str]:
    """Make ``target`` hold exactly ``source``'s files, as hard links to them.

    ``target`` may be an older copy (the tree the previous build replaced): files that are
    already links to the same data are left alone, so only what changed costs a system call.
    Returns every file's path relative to ``source``.
    """
    files: set[str] = set()
    _mirror(str(source), str(target), "", files)
    return files


def _mirror(source: str, target: str, prefix: str, files: set[str]) -> None:
    try:
        existing = {entry.name: entry for entry in os.scandir(target)}
    except FileNotFoundError:
        os.mkdir(target)
        existing = {}
    seen = set()
    with os.scandir(source) as entries:
        for entry in entries:
            seen.add(entry.name)
            there = existing.get(entry.name)
            path = os.path.join(target, entry.name)
            if entry.is_dir(follow_symlinks=False):
                if there is not None and not there.is_dir(follow_symlinks=False):
                    os.unlink(path)
                _mirror(entry.path, path, f"{prefix}{entry.name}/", files)
                continue
            files.add(prefix + entry.name)
            if there is not None:
                if there.inode() == entry.inode() and not there.is_dir(follow_symlinks=False):
                    continue
                if there.is_dir(follow_symlinks=False):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            os.link(entry.path, path)
    for name, entry in existing.items():
        if name not in seen:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)


def remove_files(root: Path, relative: set[str]) -> None:
    """Delete these files under ``root``, and the folders they leave empty (never anything
    that resolves outside ``root``: :class:`renderer.engine.paths.OutsideOutput`)."""
    folders = set()
    for rel in relative:
        inside(root, rel).unlink(missing_ok=True)
        folders.update(Path(rel).parents)
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        if folder.parts:
            with contextlib.suppress(OSError):  # not empty
                inside(root, folder.as_posix()).rmdir()
