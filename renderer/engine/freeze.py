"""Building sites: freeze each tenant's app into a new build folder, check it, then publish it.

A build is all or nothing: every tenant is frozen and checked first, into a build folder of its
own; only then does ``build/current`` point at it, in one rename (see
:mod:`renderer.engine.output`), so a failed or killed build leaves the previous output byte
for byte intact, and readers of ``build/<domain>/`` see every site old or every site new.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import gc
import os
import shutil
import sys
import time
import traceback
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from unicodedata import normalize

from flask import Flask
from flask_frozen import (
    Freezer,
    FrozenFlaskWarning,
    MimetypeMismatchWarning,
    MissingURLGeneratorWarning,
)
from jinja2 import FileSystemBytecodeCache, TemplateError, TemplateNotFound, TemplateSyntaxError

from floe.errors import Problem, SourceError
from renderer.content.corpus import ContentReader
from renderer.content.record_store import RecordStore, SourceFiles
from renderer.content.sources import Sources, load_sources
from renderer.engine import fingerprint, output
from renderer.engine.build_cache import (
    BuildCache,
    Journal,
    apply_journal,
    code_version_cached,
    keep_journal,
    load_cache,
    mirror_tree,
    page_keys,
    remove_files,
    save_cache,
    spare_journal,
)
from renderer.engine.linkcheck import check_links, internal_links, pack
from renderer.engine.output import Generations
from renderer.engine.parallel import default_jobs, fork_each, fork_map
from renderer.engine.paths import OutsideOutput, ProjectPaths, inside
from renderer.engine.progress import Progress, Silent
from renderer.views import asset_urls as assets
from renderer.views import blog, landing
from renderer.views import crawler_files as seo
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
    warnings: tuple[Problem, ...] = ()

    @property
    def pages(self) -> int:
        return self.written + self.unchanged


@dataclass
class _Frozen:
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
    """A Freezer that says which URL failed, and writes nowhere but under its destination."""

    def urlpath_to_filepath(self, path: str) -> str:
        """Frozen-Flask's file for ``path``, refused (:class:`OutsideOutput`) unless it is under
        the destination once ``..``, absolute paths and symbolic links are resolved."""
        relative = super().urlpath_to_filepath(path)
        inside(Path(self.root), normalize("NFC", relative))  # as Frozen-Flask writes it
        return relative

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
    inputs: fingerprint.Inputs | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> list[TenantResult]:
    """Build the named tenants (all by default) into ``out_dir/<domain>/``.

    Pages whose inputs did not change since the last build are linked from the current output
    instead of rendered; ``clean`` ignores what the last build left. Raises
    :class:`SourceError` with every problem found; nothing in ``out_dir`` changes then.
    ``inputs`` (see :mod:`renderer.engine.fingerprint`) is recorded once the build succeeded, so the
    next build with the same inputs can stop at once. ``jobs`` processes (default: one per
    core) convert markdown and render pages; the output is the same for any number.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(out_dir), _long_lived():
        return _build_sites(paths, out_dir, tenants, drafts, today, clean, inputs, jobs, progress)


@contextlib.contextmanager
def _long_lived():
    """Objects that exist when :func:`gc.freeze` is called are left out of garbage collection
    until the build ends.

    A rebuild loads the build cache and the sources: hundreds of thousands of objects that live
    as long as the build and hold no cycles. Scanning them again and again for cycles costs more
    than loading them, and it would copy the memory forked workers share. A full build does not
    freeze: it creates most of its objects in worker processes, where collections after a freeze
    would come more often (CPython then underestimates how many objects are long-lived).
    """
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def _exclusive(out_dir: Path):
    """One build at a time per output folder: a second one waits (and says so)."""
    (out_dir / CACHE_DIR).mkdir(parents=True, exist_ok=True)
    with open(out_dir / CACHE_DIR / "lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Waiting for another build of {out_dir} to finish…", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build_sites(
    paths: ProjectPaths,
    out_dir: Path,
    tenants: Iterable[str] | None,
    drafts: bool,
    today: dt.date | None,
    clean: bool,
    inputs: fingerprint.Inputs | None,
    jobs: int | None,
    progress: Progress | None,
) -> list[TenantResult]:
    jobs = jobs or default_jobs()
    progress = progress or Silent()
    version = code_version_cached()
    cache = BuildCache(version) if clean else load_cache(cache_path(out_dir), version)
    conversions = cache.conversions  # derived from the records, not stored again
    warm = bool(cache.records)
    if warm:
        gc.freeze()  # see _long_lived
    related = _Reused(cache.related)
    files = SourceFiles(paths.content, cache.files, inputs)
    records = RecordStore(files, cache.records)
    sources = load_sources(
        paths,
        drafts=drafts,
        today=today,
        conversions=conversions,
        reader=ContentReader(paths.content),
        related=related,
        jobs=jobs,
        progress=progress,
        records=records,
    )
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
    for key in selected:
        # Here, not in worker processes, so that what is found is remembered for next time.
        for post in sources.catalogs[key].posts:
            sources.catalogs[key].related(post)
    if warm:
        gc.freeze()
    reserved = [key for key in selected if sources.tenants[key].domain in output.RESERVED]
    if reserved:
        raise SourceError(
            [
                Problem(
                    "site/tenants.toml",
                    None,
                    f"tenants.{key}.domain",
                    f"{sources.tenants[key].domain!r} is a name the build folder uses",
                    "give the tenant its real domain name",
                )
                for key in reserved
            ]
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out_dir)
    generations = output.prepare(out_dir, cache.generation, cache.previous)
    if not generations.cache_matches:  # the cache describes no build folder that is left
        cache.pages, cache.links, cache.trees = {}, {}, {}
    frozen: list[_Frozen] = []
    published = False
    templates_cache = out_dir / CACHE_DIR / "templates"
    templates_cache.mkdir(parents=True, exist_ok=True)
    try:
        staging_state = (sources, generations, cache, clean, templates_cache)
        incremental = not clean and all(cache.pages.get(key) for key in selected)
        if jobs > 1 and len(selected) > 1 and incremental:
            # A rebuild: little to render, so each tenant goes through in its own process.
            progress.start("Updating tenants", len(selected))
            _preload()
            if len(selected) <= jobs:  # one here, each other in a process of its own
                frozen += fork_each(
                    _tenant_pipeline, staging_state, selected, on_done=lambda _: progress.advance()
                )
            else:
                frozen += fork_map(
                    _tenant_pipeline,
                    staging_state,
                    selected,
                    jobs,
                    on_done=lambda _: progress.advance(),
                )
        else:
            plans: dict[str, _Plan] = {}
            for key in selected:
                plan = _stage_and_plan(staging_state, key)
                if isinstance(plan, _Frozen):  # its templates could not be read
                    frozen.append(plan)
                else:
                    plans[key] = plan
            frozen += _render(plans, sources, jobs, progress)
        problems = [p for result in frozen for p in result.problems]
        if problems:
            raise SourceError(problems)
        output.crash_point("staged")
        fingerprint.forget(out_dir / CACHE_DIR)
        domains = {key: tenant.domain for key, tenant in sources.tenants.items()}
        carried = _carry_other_sites(
            generations, cache, {domains[r.tenant] for r in frozen}, domains
        )
        for site in sorted(os.listdir(generations.new)):
            output.link_site(out_dir, site)
        output.crash_point("linked")
        output.point_current(out_dir, generations.new)
        published = True
        output.crash_point("published")
        replaced = generations.current
        results = []
        for result in frozen:
            domain = domains[result.tenant]
            cache.pages[result.tenant] = result.keys
            cache.links[result.tenant] = result.links
            _remember_spare(cache, result.tenant, replaced, domain, result.journal)
            results.append(
                TenantResult(
                    result.tenant,
                    domain,
                    out_dir / domain,
                    result.written,
                    result.unchanged,
                    result.removed,
                    result.seconds,
                    tuple(sources.warnings_for(result.tenant)),
                )
            )
        for key in carried:  # the tree it replaced is the same as the new one
            _remember_spare(cache, key, replaced, domains[key], Journal("", (), ()))
        cache.generation = generations.new.name
        cache.previous = replaced.name if replaced is not None else None
        cache.files = files.state
        cache.records = records.entries
        cache.related = related.used
        save_cache(cache_path(out_dir), cache)
        output.crash_point("saved")
        output.prune(out_dir, {name for name in (cache.generation, cache.previous) if name})
        shutil.rmtree(out_dir / CACHE_DIR / "trees", ignore_errors=True)  # the old layout's
        if inputs is not None:
            summary = [
                {
                    "tenant": r.tenant,
                    "pages": r.pages,
                    "output": str(r.output),
                    "warnings": [str(w) for w in r.warnings],
                }
                for r in results
            ]
            fingerprint.record_build(out_dir / CACHE_DIR, inputs, summary)
        return results
    finally:
        if not published:
            _give_back_spares(generations)


def _carry_other_sites(
    generations: Generations, cache: BuildCache, rebuilt: set[str], domains: dict[str, str]
) -> list[str]:
    """Give the new build folder every current site this build did not rebuild, as hard links
    (from the spare tree and its journal when there is one); return their tenants' keys."""
    if generations.current is not None:
        others = sorted(
            entry.name
            for entry in os.scandir(generations.current)
            if entry.is_dir(follow_symlinks=False) and entry.name not in rebuilt
        )
    else:  # the old layout: real folders in the build folder
        others = sorted(d for d in domains.values() if d not in rebuilt)
    tenants = {domain: key for key, domain in domains.items()}
    carried = []
    for domain in others:
        current = generations.current_site(domain)
        if current is None:
            continue
        staging, spare = generations.new / domain, generations.previous_site(domain)
        key = tenants.get(domain)
        journal = spare_journal(spare, cache.trees.get(key)) if spare and key else None
        if spare is not None and spare.is_dir():
            spare.rename(staging)
        _update_staging(current, staging, journal, {})
        if key is not None:
            carried.append(key)
    return carried


def _remember_spare(
    cache: BuildCache, key: str, replaced: Path | None, domain: str, journal: Journal | None
) -> None:
    """After publishing: the tree of ``domain`` in the replaced build folder plus ``journal``
    is the new tree; the next build starts from it."""
    spare = replaced / domain if replaced is not None else None
    if spare is not None and spare.is_dir() and journal is not None:
        cache.trees[key] = keep_journal(spare, journal)
    else:
        cache.trees.pop(key, None)


def _give_back_spares(generations: Generations) -> None:
    """After a failed build: each tree it started from the spare goes back there (changed: its
    journal no longer holds), and the new build folder goes."""
    with contextlib.suppress(FileNotFoundError):
        for domain in os.listdir(generations.new):
            spare = generations.previous_site(domain)
            if spare is not None:
                _keep_as_spare(generations.new / domain, spare)
    shutil.rmtree(generations.new, ignore_errors=True)


_StagingState = tuple[Sources, Generations, BuildCache, bool, Path]


def _stage_and_plan(state: _StagingState, key: str) -> _Plan | _Frozen:
    """Prepare the tenant's folder in the new build from its current output, and plan its
    pages."""
    sources, generations, cache, clean, templates_cache = state
    started = time.perf_counter()
    domain = sources.tenants[key].domain
    staging = generations.new / domain
    final, spare = generations.current_site(domain), generations.previous_site(domain)
    previous = cache.pages.get(key, {})
    # The spare tree is changed below: from now on its journal no longer holds.
    journal = spare_journal(spare, cache.trees.get(key)) if spare is not None else None
    if clean or not previous or final is None:
        staging.mkdir(parents=True)
        previous, staged = {}, set()
    else:
        if spare is not None and spare.is_dir():
            spare.rename(staging)  # the tree the last build replaced: mostly current
        staged = _update_staging(final, staging, journal, previous)
    plan = _plan(sources, key, staging, previous, staged, cache.links.get(key, {}))
    if isinstance(plan, _Plan):
        plan.staged_fresh = not previous
        # Compiled templates are kept between builds.
        plan.app.jinja_env.bytecode_cache = FileSystemBytecodeCache(str(templates_cache))
    plan.seconds = time.perf_counter() - started
    return plan


def _update_staging(
    final: Path, staging: Path, journal: Journal | None, previous: dict[str, str]
) -> set[str]:
    """Make ``staging`` (the tree the last build replaced, if any) a copy of ``final`` made of
    hard links, and return its files.

    With the last build's journal, only the files it changed are linked; otherwise, or when
    the tree is not as the journal says, both trees are walked.
    """
    if journal is not None:
        try:
            apply_journal(journal, final, staging)
            return {_url_file(url) for url in previous}
        except (OSError, OutsideOutput):  # not as the journal says: walk both trees
            pass
    return mirror_tree(final, staging)


def _preload() -> None:
    """Load here what every tenant's pipeline loads on first use (Flask's test client, which
    Frozen-Flask renders with, and the IDNA codec it encodes host names with), so that forked
    workers inherit it instead of each loading it."""
    import flask.testing  # noqa: F401

    "localhost".encode("idna")


def _tenant_pipeline(state: _StagingState, key: str) -> _Frozen:
    """One tenant from staging to checked output (in a worker process, or here)."""
    plan = _stage_and_plan(state, key)
    if isinstance(plan, _Frozen):
        return plan
    return _render({key: plan}, state[0], 1, Silent())[0]


class _Reused(dict):
    """Results of the last build to reuse, and those this build used (the next cache)."""

    def __init__(self, previous: dict):
        super().__init__()
        self.previous = previous
        self.used: dict = {}

    def get(self, key, default=None):
        found = self.used.get(key) or self.previous.get(key)
        if found is not None:
            self.used[key] = found
        return found if found is not None else default

    def __setitem__(self, key, value) -> None:
        self.used[key] = value


@dataclass
class _Plan:
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


def _plan(
    sources: Sources,
    tenant: str,
    staging: Path,
    previous: dict[str, str],
    staged: set[str],
    previous_links: dict[str, bytes],
) -> _Plan | _Frozen:
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
        return _Frozen(tenant, staging, {}, {}, problems=[_describe(failed, sources)])
    # Exceptions reach the freezer (instead of becoming a 500 page) so they can be reported.
    app.config.update(FREEZER_SETTINGS, FREEZER_DESTINATION=str(staging), PROPAGATE_EXCEPTIONS=True)
    with app.test_request_context():
        every_url = list(dict.fromkeys(u for m in (landing, blog, assets, seo) for u in m.urls()))
    files = {url: _url_file(url) for url in every_url}
    unchanged = {
        url
        for url in every_url
        if files[url] in staged and url in keys and previous.get(url) == keys[url]
    }
    to_render = [url for url in every_url if url not in unchanged]
    outside = _outside(staging, files, set(to_render), sources.catalogs[tenant])
    if outside:
        return _Frozen(tenant, staging, {}, {}, problems=outside)
    for url in to_render:
        if files[url] in staged:
            # A link to the live file: never write into it.
            (staging / files[url]).unlink(missing_ok=True)
    every_key = {url: keys.get(url, "") for url in every_url}
    return _Plan(
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
            sources = _page_sources(catalog)
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


def _page_sources(catalog) -> dict[str, str]:
    """Each page's URL (aliases' too) → the content file it comes from."""
    sources = {r.url: r.file for r in [*catalog.posts, *catalog.pages.values()]}
    sources.update((seo.alias_rule(alias), post.file) for alias, post in catalog.aliases.items())
    return sources


def _url_file(url: str) -> str:
    """Where Frozen-Flask writes ``url`` (``/blog/`` → ``blog/index.html``)."""
    return url.lstrip("/") + ("index.html" if url.endswith("/") else "")


def _render(
    plans: dict[str, _Plan], sources: Sources, jobs: int, progress: Progress
) -> list[_Frozen]:
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
    _freezers.clear()
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
_freezers: dict[str, SiteFreezer] = {}


def _render_shard(
    state: tuple[dict[str, _Plan], Sources], task: tuple[str, int, int]
) -> tuple[str, float, dict[str, bytes], list[Problem], int]:
    """Freeze one shard of a tenant's changed pages (in a worker process, or here)."""
    plans, sources = state
    tenant, shard, shards = task
    plan = plans[tenant]
    urls = plan.to_render[shard::shards]
    started = time.perf_counter()
    key = f"{os.getpid()}:{id(plan.app)}"
    freezer = _freezers.get(key)
    if freezer is None:  # one per app and process: each Freezer hooks into the app
        freezer = _freezers[key] = SiteFreezer(
            plan.app, with_static_files=False, with_no_argument_rules=False, log_url_for=False
        )
        # Every URL comes from the generator below, so a page kept as unchanged loses nothing
        # by not logging its url_for calls, and incremental and clean builds freeze the same.
        freezer.register_generator(_current_shard)
    _shard_urls[:] = urls
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
            freezer.freeze()
    except _FreezeFailed as failed:
        return tenant, 0.0, {}, [_describe(failed, sources)], len(urls)
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


_shard_urls: list[str] = []


def _current_shard():
    """Frozen-Flask's only URL generator: the shard being rendered."""
    yield from _shard_urls


def _finish(
    plan: _Plan,
    sources: Sources,
    parts: list[tuple[str, float, dict[str, bytes], list[Problem], int]],
) -> _Frozen:
    """Remove the files of pages that are gone, and check every link of the tenant's site."""
    result = _Frozen(plan.tenant, plan.staging, plan.keys, {})
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
    page_sources = {r.url: r.file for r in [*catalog.posts, *catalog.pages.values()]}
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


def _keep_as_spare(staging: Path, spare: Path) -> None:
    """After a failed build, a staging folder made from the spare tree goes back there (or goes)."""
    if staging.exists() and not spare.exists():
        spare.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(spare)
    else:
        shutil.rmtree(staging, ignore_errors=True)


def _remove_stale_staging(out_dir: Path) -> None:
    """Staging folders of the layout before build folders, left by a killed build."""
    for leftover in out_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
