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
from dataclasses import dataclass
from pathlib import Path

from flask_frozen import (
    Freezer,
    FrozenFlaskWarning,
    MimetypeMismatchWarning,
    MissingURLGeneratorWarning,
)
from jinja2 import TemplateNotFound, TemplateSyntaxError

from floe.errors import Problem, SourceError
from renderer import assets, blog, landing, seo
from renderer.app import create_app
from renderer.linkcheck import check_links
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


@dataclass(frozen=True)
class TenantResult:
    tenant: str
    domain: str
    output: Path
    pages: int
    seconds: float


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


def build_sites(
    paths: ProjectPaths,
    out_dir: Path,
    *,
    tenants: Iterable[str] | None = None,
    drafts: bool = False,
    today: dt.date | None = None,
) -> list[TenantResult]:
    """Build the named tenants (all by default) into ``out_dir/<domain>/``.

    Raises :class:`SourceError` with every problem found; nothing in ``out_dir`` changes then.
    """
    sources = load_sources(paths, drafts=drafts, today=today)
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
    staged: list[tuple[str, Path, float, int]] = []
    problems: list[Problem] = []
    try:
        for key in selected:
            started = time.perf_counter()
            staging = out_dir / f"{STAGING_PREFIX}{sources.tenants[key].domain}-{os.getpid()}"
            count, found = freeze_tenant(sources, key, staging)
            problems.extend(found)
            staged.append((key, staging, time.perf_counter() - started, count))
        if problems:
            raise SourceError(problems)
        results = []
        for key, staging, seconds, count in staged:
            final = out_dir / sources.tenants[key].domain
            _swap(staging, final)
            results.append(TenantResult(key, sources.tenants[key].domain, final, count, seconds))
        return results
    finally:
        for _, staging, _, _ in staged:
            shutil.rmtree(staging, ignore_errors=True)


def freeze_tenant(sources: Sources, tenant: str, destination: Path) -> tuple[int, list[Problem]]:
    """Freeze one tenant into ``destination``; return the page count and any problems."""
    app = create_app(tenant, sources)
    # Exceptions reach the freezer (instead of becoming a 500 page) so they can be reported.
    app.config.update(
        FREEZER_SETTINGS, FREEZER_DESTINATION=str(destination), PROPAGATE_EXCEPTIONS=True
    )
    freezer = SiteFreezer(app)
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
        return 0, [_describe(failed, sources)]
    except FrozenFlaskWarning as warning:
        return 0, [Problem("site/templates", None, None, f"Frozen-Flask: {warning}")]
    catalog = sources.catalogs[tenant]
    page_sources = {r.url: r.file for r in [*catalog.posts, *catalog.pages.values()]}
    return len(urls), check_links(destination, sources.tenants[tenant].domain, page_sources)


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
