"""Building sites: freeze each tenant's app into a staging folder, check it, then swap it in.

A build is all or nothing: every tenant is frozen and checked first; only then is each
``build/<domain>/`` replaced, so a failed build leaves the previous output byte for byte intact.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
import traceback
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from flask_frozen import (
    Freezer,
    FrozenFlaskWarning,
    MimetypeMismatchWarning,
    MissingURLGeneratorWarning,
)
from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError

from floe.errors import Problem, SourceError
from renderer import assets, blog, landing, seo
from renderer.app import create_app
from renderer.incremental import (
    BuildCache,
    code_version_cached,
    link_tree,
    load_cache,
    page_keys,
    save_cache,
)
from renderer.linkcheck import Links, check_links, site_files
from renderer.markdown import Rendered
from renderer.sources import ProjectPaths, Sources, load_sources

#: Frozen-Flask settings, chosen so that a mistake fails the build instead of shipping.
FREEZER_SETTINGS = {
    "FREEZER_REDIRECT_POLICY": "error",  # a redirect while freezing is a bug, not a page
    "FREEZER_IGNORE_404_NOT_FOUND": False,  # a 404 for a generated URL is a broken link
    "FREEZER_REMOVE_EXTRA_FILES": True,  # no stale file survives (staging starts empty anyway)
    "FREEZER_RELATIVE_URLS": False,  # absolute paths: pages work at any depth and as 404.html
    "FREEZER_DEFAULT_MIMETYPE": "text/plain",  # _redirects and _headers have no extension
}
STAGING_PREFIX = ".staging-"
CACHE_DIR = ".floe-cache"


@dataclass(frozen=True)
class TenantResult:
    tenant: str
    domain: str
    output: Path
    written: int
    unchanged: int
    removed: int
    seconds: float

    @property
    def pages(self) -> int:
        return self.written + self.unchanged


@dataclass
class _Frozen:
    """One tenant frozen into its staging folder, not yet swapped in."""

    tenant: str
    staging: Path
    keys: dict[str, str]
    links: dict[str, Links]
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)


class _FreezeFailed(Exception):
    def __init__(self, url: str, error: BaseException):
        super().__init__(f"{url}: {error}")
        self.url, self.error = url, error


class SiteFreezer(Freezer):
    """A Freezer that says which URL failed."""

    def _build_one(self, url, last_modified=None):
        try:
            return super()._build_one(url, last_modified)
        except Exception as exc:
            raise _FreezeFailed(url, exc) from exc


def cache_path(out_dir: Path) -> Path:
    return out_dir / CACHE_DIR / "cache.pickle"


def build_sites(
    paths: ProjectPaths,
    out_dir: Path,
    *,
    tenants: Iterable[str] | None = None,
    drafts: bool = False,
    today: dt.date | None = None,
    clean: bool = False,
) -> list[TenantResult]:
    """Build the named tenants (all by default) into ``out_dir/<domain>/``.

    Pages whose inputs did not change since the last build are linked from the current output
    instead of rendered; ``clean`` ignores what the last build left. Raises
    :class:`SourceError` with every problem found; nothing in ``out_dir`` changes then.
    """
    version = code_version_cached()
    cache = BuildCache(version) if clean else load_cache(cache_path(out_dir), version)
    conversions = _Conversions(cache.conversions)
    sources = load_sources(paths, drafts=drafts, today=today, conversions=conversions)
    selected = list(tenants) if tenants else list(sources.tenants)
    unknown = [t for t in selected if t not in sources.tenants]
    if unknown:
        raise SourceError(
            [
                Problem(
                    "site/tenants.toml",
                    None,
                    None,
                    f"no tenant named {name!r}",
                    "known tenants: " + ", ".join(sources.tenants),
                )
                for name in unknown
            ]
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out_dir)
    frozen: list[_Frozen] = []
    try:
        for key in selected:
            started = time.perf_counter()
            domain = sources.tenants[key].domain
            staging = out_dir / f"{STAGING_PREFIX}{domain}-{os.getpid()}"
            final = out_dir / domain
            previous = {} if clean else cache.pages.get(key, {})
            if previous and final.is_dir():
                link_tree(final, staging)
            else:
                previous = {}
            result = freeze_tenant(sources, key, staging, previous, cache.links.get(key, {}))
            result.seconds = time.perf_counter() - started
            frozen.append(result)
        problems = [p for result in frozen for p in result.problems]
        if problems:
            raise SourceError(problems)
        results = []
        for result in frozen:
            domain = sources.tenants[result.tenant].domain
            _swap(result.staging, out_dir / domain)
            cache.pages[result.tenant] = result.keys
            cache.links[result.tenant] = result.links
            results.append(
                TenantResult(
                    result.tenant,
                    domain,
                    out_dir / domain,
                    result.written,
                    result.unchanged,
                    result.removed,
                    result.seconds,
                )
            )
        cache.conversions = conversions.used
        save_cache(cache_path(out_dir), cache)
        return results
    finally:
        for result in frozen:
            shutil.rmtree(result.staging, ignore_errors=True)


class _Conversions(dict):
    """Markdown conversions: those of the last build to reuse, and those this build used."""

    def __init__(self, previous: dict[str, Rendered]):
        super().__init__()
        self.previous = previous
        self.used: dict[str, Rendered] = {}

    def get(self, key, default=None):
        found = self.used.get(key) or self.previous.get(key)
        if found is not None:
            self.used[key] = found
        return found if found is not None else default

    def __setitem__(self, key, value) -> None:
        self.used[key] = value


def freeze_tenant(
    sources: Sources,
    tenant: str,
    destination: Path,
    previous: dict[str, str] | None = None,
    previous_links: dict[str, Links] | None = None,
) -> _Frozen:
    """Freeze one tenant into ``destination``.

    ``destination`` may hold the last build's files as hard links; ``previous`` gives their
    page keys. A page whose key is unchanged is kept as it is; any other file is unlinked
    before it is written, so the current output is never modified in place.
    """
    app = create_app(tenant, sources)
    try:
        keys = page_keys(app, sources, tenant)
    except TemplateError as error:  # found while reading templates for their dependencies
        failed = _FreezeFailed("(every page)", error)
        return _Frozen(tenant, destination, {}, {}, problems=[_describe(failed, sources)])
    previous = previous or {}
    result = _Frozen(tenant, destination, keys, {})
    unchanged: set[str] = set()

    def skip(url: str, path: str) -> bool:
        key = keys.get(url)
        if key is not None and previous.get(url) == key and os.path.isfile(path):
            unchanged.add(url)
            return True
        if os.path.lexists(path):
            os.unlink(path)  # a hard link to the live file: never write through it
        return False

    before = site_files(destination) if destination.is_dir() else set()
    # Exceptions reach the freezer (instead of becoming a 500 page) so they can be reported.
    app.config.update(
        FREEZER_SETTINGS,
        FREEZER_DESTINATION=str(destination),
        FREEZER_SKIP_EXISTING=skip,
        PROPAGATE_EXCEPTIONS=True,
    )
    # Generators list every URL, so a page skipped as unchanged loses nothing by not logging
    # its url_for calls, and incremental and clean builds freeze the same URLs.
    freezer = SiteFreezer(app, log_url_for=False)
    for module in (landing, blog, assets, seo):
        freezer.register_generator(module.urls)
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
            urls = freezer.freeze()
    except _FreezeFailed as failed:
        result.problems.append(_describe(failed, sources))
        return result
    except FrozenFlaskWarning as warning:
        result.problems.append(Problem("site/templates", None, None, f"Frozen-Flask: {warning}"))
        return result
    catalog = sources.catalogs[tenant]
    page_sources = {r.url: r.file for r in [*catalog.posts, *catalog.pages.values()]}
    known = {u: links for u, links in (previous_links or {}).items() if u in unchanged}
    result.problems, result.links = check_links(
        destination, sources.tenants[tenant].domain, page_sources, known
    )
    result.unchanged = len(unchanged)
    result.written = len(urls) - len(unchanged)
    result.removed = len(before - site_files(destination))
    return result


def _describe(failed: _FreezeFailed, sources: Sources) -> Problem:
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


def _swap(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging``: two renames on one file system, old tree removed last."""
    old = final.with_name(f"{STAGING_PREFIX}old-{final.name}-{os.getpid()}")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _remove_stale_staging(out_dir: Path) -> None:
    """Staging folders of a build that was killed midway are never reused."""
    for leftover in out_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
