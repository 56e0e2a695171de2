"""Freezing one tenant's app with Frozen-Flask: which pages to render, rendered in shards over
worker processes, then checked (links) and described (errors a designer can fix).

Only Frozen-Flask's public surface is used: :class:`SiteFreezer` below, URL generators,
``freeze_yield()`` and the ``FREEZER_*`` settings of :data:`FREEZER_SETTINGS`.
"""

from __future__ import annotations

import os
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unicodedata import normalize

from flask import Flask
from flask_frozen import (
    Freezer,
    FrozenFlaskWarning,
    MimetypeMismatchWarning,
    MissingURLGeneratorWarning,
)
from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError

from floe.errors import Problem
from floe.progress import Progress
from renderer.content.documents import LandingPage, Post
from renderer.content.sources import Sources
from renderer.engine.build_cache import Journal, remove_files
from renderer.engine.linkcheck import check_links, internal_links, pack
from renderer.engine.page_keys import page_keys
from renderer.engine.parallel import fork_map
from renderer.engine.paths import OutsideOutput, inside
from renderer.views import asset_urls, blog, crawler_files, landing
from renderer.views.app import create_app

#: Frozen-Flask settings, chosen so that a mistake fails the build instead of shipping.
FREEZER_SETTINGS = {
    "FREEZER_REDIRECT_POLICY": "error",  # a redirect while freezing is a bug, not a page
    "FREEZER_IGNORE_404_NOT_FOUND": False,  # a 404 for a generated URL is a broken link
    # Stale files are removed by freeze_tenant, which knows them without walking the tree.
    "FREEZER_REMOVE_EXTRA_FILES": False,
    "FREEZER_RELATIVE_URLS": False,  # absolute paths: pages work at any depth and as 404.html
    "FREEZER_DEFAULT_MIMETYPE": "text/plain",  # _redirects and _headers have no extension
}


@dataclass
class Frozen:
    """One tenant frozen into its staging folder, not yet swapped in."""

    tenant: str
    staging: Path
    #: every URL of the site → its page key ("" for a URL without one)
    keys: dict[str, str]
    links: dict[str, bytes]
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    #: How the new tree differs from the current one; None when staged from scratch.
    journal: Journal | None = None


class _FreezeFailed(Exception):
    def __init__(self, url: str, error: BaseException):
        super().__init__(f"{url}: {error}")
        self.url, self.error = url, error


class SiteFreezer(Freezer):
    """A Freezer that says which URL failed, and writes nowhere but under its destination.

    It uses Frozen-Flask's public surface only: :meth:`urlpath_to_filepath`, which Frozen-Flask
    calls first for every URL it builds (so the URL being built is known when an error comes),
    :meth:`freeze_yield`, and URL generators (:meth:`freeze_batch` freezes a given list).
    """

    def __init__(self, app: Flask | None = None, **options: Any):
        super().__init__(app, **options)
        #: The URL being built (its file was asked for), None between pages.
        self.building: str | None = None
        #: What :meth:`batch_urls` gives: the URLs :meth:`freeze_batch` was given.
        self.batch: list[str] = []

    def urlpath_to_filepath(self, path: str) -> str:
        """Frozen-Flask's file for ``path``, refused (:class:`OutsideOutput`) unless it is under
        the destination once ``..``, absolute paths and symbolic links are resolved."""
        self.building = path
        relative = super().urlpath_to_filepath(path)
        inside(Path(self.root), normalize("NFC", relative))  # as Frozen-Flask writes it
        return relative

    def freeze_yield(self) -> Iterator[Any]:
        """Frozen-Flask's pages, one by one; an error while building one is raised as
        :class:`_FreezeFailed`, naming its URL."""
        pages = super().freeze_yield()
        while True:
            self.building = None
            try:
                page = next(pages)
            except StopIteration:
                return
            except Exception as exc:
                if self.building is None:  # after the pages (Frozen-Flask's endpoint check)
                    raise
                raise _FreezeFailed(self.building, exc) from exc
            yield page

    def batch_urls(self) -> Iterator[str]:
        """A URL generator: the URLs of the batch being frozen."""
        yield from self.batch

    def freeze_batch(self, urls: list[str]) -> None:
        """Freeze exactly ``urls`` (given :meth:`batch_urls` is the only URL generator)."""
        self.batch = urls
        try:
            for _ in self.freeze_yield():
                pass
        finally:
            self.batch = []


@dataclass
class Plan:
    """One tenant's app and what it must render, ready to be split among processes."""

    tenant: str
    app: Flask
    staging: Path
    keys: dict[str, str]
    files: dict[str, str]  # URL → file under staging
    to_render: list[str]
    unchanged: set[str]
    staged: set[str]
    previous_links: dict[str, bytes]
    seconds: float = 0.0
    #: Staged from scratch, not from the current tree.
    staged_fresh: bool = False


#: Below this many pages to render, worker processes cost more than they save.
PARALLEL_MINIMUM = 64


def plan_tenant(
    sources: Sources,
    tenant: str,
    staging: Path,
    previous: dict[str, str],
    staged: set[str],
    previous_links: dict[str, bytes],
) -> Plan | Frozen:
    """Work out which of the tenant's pages changed.

    ``staging`` holds the last build's files (``staged``) as hard links; ``previous`` gives
    their page keys. A page whose key is unchanged is kept as it is; the file of any other is
    unlinked here, before it is written, so the current output is never modified in place.
    """
    app = create_app(tenant, sources)
    try:
        keys = page_keys(app, sources, tenant)
    except TemplateError as error:  # found while reading templates for their dependencies
        failed = _FreezeFailed("(every page)", error)
        return Frozen(tenant, staging, {}, {}, problems=[describe_failure(failed, sources)])
    # Exceptions reach the freezer (instead of becoming a 500 page) so they can be reported.
    app.config.update(FREEZER_SETTINGS, FREEZER_DESTINATION=str(staging), PROPAGATE_EXCEPTIONS=True)
    with app.test_request_context():
        every_url = list(
            dict.fromkeys(u for m in (landing, blog, asset_urls, crawler_files) for u in m.urls())
        )
    files = {url: url_file(url) for url in every_url}
    unchanged = {
        url
        for url in every_url
        if files[url] in staged and url in keys and previous.get(url) == keys[url]
    }
    to_render = [url for url in every_url if url not in unchanged]
    outside = _outside(staging, files, set(to_render), sources.catalogs[tenant])
    if outside:
        return Frozen(tenant, staging, {}, {}, problems=outside)
    for url in to_render:
        if files[url] in staged:
            # A link to the live file: never write into it.
            (staging / files[url]).unlink(missing_ok=True)
    every_key = {url: keys.get(url, "") for url in every_url}
    return Plan(
        tenant, app, staging, every_key, files, to_render, unchanged, staged, previous_links
    )


def _outside(staging: Path, files: dict[str, str], to_write: set[str], catalog) -> list[Problem]:
    """A problem for every URL whose file would resolve outside the staging folder, naming the
    content file it comes from when there is one.

    Every file name is checked as written (``..``, an absolute path); those about to be
    written or unlinked are also resolved on disk (symbolic links), which costs system calls.
    """
    problems = []
    for url, file in files.items():
        name = normalize("NFC", file)
        try:
            if url in to_write:
                inside(staging, name)
            elif os.path.isabs(name) or os.path.normpath(name).split(os.sep)[0] in ("..", "."):
                raise OutsideOutput(f"{name!r} leads outside the build's folder")
        except OutsideOutput as error:
            sources = page_sources(catalog)
            problems.append(
                Problem(
                    sources.get(url, url),
                    None,
                    None,
                    f"the page at {url!r} would be written outside the site: {error}",
                    "give it an address made of plain path segments (no '..')",
                )
            )
    return problems


def page_sources(catalog) -> dict[str, str]:
    """Each page's URL (aliases' too) → the content file it comes from."""
    sources = {r.url: r.file for r in [*catalog.posts, *catalog.pages.values()]}
    sources.update(
        (crawler_files.alias_rule(alias), post.file) for alias, post in catalog.aliases.items()
    )
    return sources


def url_file(url: str) -> str:
    """Where Frozen-Flask writes ``url`` (``/blog/`` → ``blog/index.html``)."""
    return url.lstrip("/") + ("index.html" if url.endswith("/") else "")


def render_plans(
    plans: dict[str, Plan], sources: Sources, jobs: int, progress: Progress
) -> list[Frozen]:
    """Render every plan's pages, in shards: over ``jobs`` processes when there are many, and
    small enough that the progress bar moves."""
    total = sum(len(plan.to_render) for plan in plans.values())
    workers = jobs if total >= PARALLEL_MINIMUM else 1
    tasks = []
    for tenant, plan in plans.items():
        shards = max(1, min(len(plan.to_render) // SHARD_PAGES, workers * 8))
        tasks += [(tenant, shard, shards) for shard in range(shards)]
    if total:
        progress.start("Rendering pages", total)
    rendered = fork_map(
        _render_shard,
        (plans, sources),
        tasks,
        workers,
        on_done=lambda part: progress.advance(part[4]),
    )
    results = []
    for tenant, plan in plans.items():
        started = time.perf_counter()
        parts = [part for part in rendered if part[0] == tenant]
        result = _finish(plan, sources, parts)
        result.seconds += plan.seconds + time.perf_counter() - started
        results.append(result)
    return results


#: Pages per shard at least: a shard has a fixed cost (a Frozen-Flask run).
SHARD_PAGES = 25


def _render_shard(
    state: tuple[dict[str, Plan], Sources], task: tuple[str, int, int]
) -> tuple[str, float, dict[str, bytes], list[Problem], int]:
    """Freeze one shard of a tenant's changed pages (in a worker process, or here)."""
    plans, sources = state
    tenant, shard, shards = task
    plan = plans[tenant]
    urls = plan.to_render[shard::shards]
    started = time.perf_counter()
    freezer = plan.app.extensions.get("floe.freezer")
    if freezer is None:  # one per app: each Freezer hooks into the app
        freezer = plan.app.extensions["floe.freezer"] = SiteFreezer(
            plan.app, with_static_files=False, with_no_argument_rules=False, log_url_for=False
        )
        # Every URL comes from the batch, so a page kept as unchanged loses nothing by not
        # logging its url_for calls, and incremental and clean builds freeze the same.
        freezer.register_generator(freezer.batch_urls)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", FrozenFlaskWarning)
            # A site with no posts yet has no post or tag pages to freeze: that is fine.
            warnings.simplefilter("ignore", MissingURLGeneratorWarning)
            # Whether .xml guesses text/xml or application/xml depends on the machine's
            # mime.types; the feed is Atom either way, and hosts serve it by extension.
            warnings.filterwarnings(
                "ignore", r"Filename extension of '[^']*\.xml'", MimetypeMismatchWarning
            )
            freezer.freeze_batch(urls)
    except _FreezeFailed as failed:
        return tenant, 0.0, {}, [describe_failure(failed, sources)], len(urls)
    except FrozenFlaskWarning as warning:
        problem = Problem("site/templates", None, None, f"Frozen-Flask: {warning}")
        return tenant, 0.0, {}, [problem], len(urls)
    domain = sources.tenants[tenant].domain
    links = {
        url: pack(internal_links((plan.staging / plan.files[url]).read_bytes(), url, domain))
        for url in urls
        if plan.files[url].endswith(".html")
    }
    return tenant, time.perf_counter() - started, links, [], len(urls)


def _finish(
    plan: Plan,
    sources: Sources,
    parts: list[tuple[str, float, dict[str, bytes], list[Problem], int]],
) -> Frozen:
    """Remove the files of pages that are gone, and check every link of the tenant's site."""
    result = Frozen(plan.tenant, plan.staging, plan.keys, {})
    result.problems = [problem for part in parts for problem in part[3]]
    if result.problems:
        return result
    built = set(plan.files.values())
    stale = plan.staged - built
    remove_files(plan.staging, stale)
    links = {url: plan.previous_links[url] for url in plan.unchanged if url in plan.previous_links}
    for part in parts:
        links.update(part[2])
    catalog = sources.catalogs[plan.tenant]
    records: list[Post | LandingPage] = [*catalog.posts, *catalog.pages.values()]
    page_sources = {r.url: r.file for r in records}
    # Files that came cannot break a link that resolved; files that went can.
    trusted = plan.unchanged if plan.staged <= built else set()
    result.problems, result.links = check_links(
        plan.staging, sources.tenants[plan.tenant].domain, page_sources, links, built, trusted
    )
    result.unchanged = len(plan.unchanged)
    result.written = len(plan.to_render)
    result.removed = len(stale)
    if not plan.staged_fresh:
        written = tuple(sorted(plan.files[url] for url in plan.to_render))
        result.journal = Journal("", written, tuple(sorted(stale)))
    result.seconds = max((part[1] for part in parts), default=0.0)
    return result


def describe_failure(failed: _FreezeFailed, sources: Sources) -> Problem:
    """Turn an exception raised while freezing ``failed.url`` into a problem a designer can fix."""
    error, root = failed.error, sources.paths.root
    if isinstance(error, TemplateSyntaxError):
        return Problem(
            _relative(error.filename, root) or "site/templates",
            error.lineno,
            None,
            f"template error: {error.message}",
            f"while rendering {failed.url}",
        )
    if isinstance(error, TemplateNotFound):
        return Problem(
            "site/templates",
            None,
            None,
            f"template {error.name!r} not found",
            f"needed by {failed.url}; create it in site/templates/",
        )
    frame = next(
        (
            f
            for f in reversed(traceback.extract_tb(error.__traceback__))
            if f.filename.endswith((".html", ".xml", ".txt"))
        ),
        None,
    )
    if frame is not None:
        return Problem(
            _relative(frame.filename, root) or frame.filename,
            frame.lineno,
            None,
            f"template error: {error}",
            f"while rendering {failed.url}",
        )
    return Problem(failed.url, None, None, str(error))


def _relative(filename: str | None, root: Path) -> str | None:
    if not filename:
        return None
    try:
        return Path(filename).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return filename
