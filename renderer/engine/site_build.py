"""Building sites: freeze each tenant's app into a new build folder, check it, then publish it.

A build is all or nothing: every tenant is frozen and checked first, into a build folder of its
own; only then does ``build/current`` point at it, in one rename (see
:mod:`renderer.engine.output`), so a failed or killed build leaves the previous output byte
for byte intact, and readers of ``build/<domain>/`` see every site old or every site new.
Each tenant's folder starts as hard links to its current output; :mod:`renderer.engine.freeze`
renders only the pages whose key changed.
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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import FileSystemBytecodeCache

from floe.errors import Problem, SourceError
from floe.progress import Progress, Silent
from renderer.content.flatpages_adapter import ContentReader
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
    save_cache,
    spare_journal,
)
from renderer.engine.freeze import Frozen, Plan, plan_tenant, render_plans, url_file
from renderer.engine.output import Generations
from renderer.engine.parallel import default_jobs, fork_each, fork_map
from renderer.engine.paths import OutsideOutput, ProjectPaths

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
    frozen: list[Frozen] = []
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
            plans: dict[str, Plan] = {}
            for key in selected:
                plan = _stage_and_plan(staging_state, key)
                if isinstance(plan, Frozen):  # its templates could not be read
                    frozen.append(plan)
                else:
                    plans[key] = plan
            frozen += render_plans(plans, sources, jobs, progress)
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


def _stage_and_plan(state: _StagingState, key: str) -> Plan | Frozen:
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
    plan = plan_tenant(sources, key, staging, previous, staged, cache.links.get(key, {}))
    if isinstance(plan, Plan):
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
            return {url_file(url) for url in previous}
        except (OSError, OutsideOutput):  # not as the journal says: walk both trees
            pass
    return mirror_tree(final, staging)


def _preload() -> None:
    """Load here what every tenant's pipeline loads on first use (Flask's test client, which
    Frozen-Flask renders with, and the IDNA codec it encodes host names with), so that forked
    workers inherit it instead of each loading it."""
    import flask.testing  # noqa: F401

    "localhost".encode("idna")


def _tenant_pipeline(state: _StagingState, key: str) -> Frozen:
    """One tenant from staging to checked output (in a worker process, or here)."""
    plan = _stage_and_plan(state, key)
    if isinstance(plan, Frozen):
        return plan
    return render_plans({key: plan}, state[0], 1, Silent())[0]


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
