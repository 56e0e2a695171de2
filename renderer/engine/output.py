"""The layout of a build folder, and the one step that publishes a build.

::

    build/
      tallystack.example -> current/tallystack.example     one link per site, never changed
      current -> builds/7                                   replaced in one rename
      builds/7/tallystack.example/ …                        the current build, every site
      builds/6/…                                            the one it replaced (the next
                                                            build's starting point)
      .floe-cache/

A build writes every site into a folder of its own (``builds/<n>/``); when the whole build
succeeded, ``current`` is pointed at it by renaming a new link over the old one, so a reader of
``build/<domain>/`` sees every site of the old build or every site of the new one, never a mix
and never nothing. Nothing but the build that created it changes a folder before it is
current; the folder ``current`` pointed to before stays as it is until the next build starts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

CURRENT = "current"
BUILDS = "builds"
#: Names in the build folder that are not sites (a tenant's domain cannot be one of them).
RESERVED = frozenset({CURRENT, BUILDS, "netlify"})
#: Tests only: ``FLOE_CRASH_AT=<point>`` kills the build at that point (see :func:`crash_point`).
CRASH_VARIABLE = "FLOE_CRASH_AT"


@dataclass(frozen=True)
class Generations:
    """The build folders one build deals with."""

    out: Path
    #: The folder this build writes into.
    new: Path
    #: The folder ``current`` points to, or None (no build yet, or one of the old layout).
    current: Path | None
    #: The folder the current one replaced, when the build cache describes it; else None.
    previous: Path | None
    #: Whether the build cache describes the current build (a build killed between the switch
    #: and saving its cache leaves a cache that does not).
    cache_matches: bool

    def current_site(self, domain: str) -> Path | None:
        """The tree of ``domain`` readers see now, or None."""
        if self.current is not None:
            site = self.current / domain
            return site if site.is_dir() else None
        legacy = self.out / domain  # a real folder, from before builds had folders of their own
        return legacy if legacy.is_dir() and not legacy.is_symlink() else None

    def previous_site(self, domain: str) -> Path | None:
        return self.previous / domain if self.previous is not None else None


def current_generation(out: Path) -> Path | None:
    """The build folder ``out/current`` points to, or None."""
    try:
        target = os.readlink(out / CURRENT)
    except OSError:
        return None
    folder = out / target
    return folder if folder.is_dir() else None


def prepare(out: Path, cached_current: str | None, cached_previous: str | None) -> Generations:
    """Remove what killed or old builds left, and create the folder of a new build.

    ``cached_current`` and ``cached_previous`` are the folder names the build cache recorded.
    """
    builds = out / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    current = current_generation(out)
    matches = current is not None and current.name == cached_current
    previous = builds / cached_previous if matches and cached_previous else None
    if previous is not None and not previous.is_dir():
        previous = None
    keep = {folder.name for folder in (current, previous) if folder is not None}
    prune(out, keep)
    number = 1 + max((int(name) for name in keep if name.isdigit()), default=0)
    new = builds / str(number)
    new.mkdir()
    return Generations(out, new, current, previous, matches)


def prune(out: Path, keep: set[str]) -> None:
    """Delete every build folder but those named in ``keep``."""
    with contextlib.suppress(FileNotFoundError), os.scandir(out / BUILDS) as entries:
        for entry in list(entries):
            if entry.name not in keep:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)


def link_site(out: Path, domain: str) -> None:
    """Make ``out/<domain>`` the link ``current/<domain>`` (once per site, ever).

    A real folder there (the layout before build folders) is moved away first: the one moment
    that site is missing, at the first build after the upgrade.
    """
    path, wanted = out / domain, f"{CURRENT}/{domain}"
    if path.is_symlink():
        if os.readlink(path) == wanted:
            return
    elif path.exists():
        aside = out / BUILDS / f"old-layout-{domain}"
        shutil.rmtree(aside, ignore_errors=True)
        path.rename(aside)
    _replace_link(wanted, path)


def point_current(out: Path, generation: Path) -> None:
    """Publish ``generation``: one rename of a new link over ``out/current``."""
    _replace_link(f"{BUILDS}/{generation.name}", out / CURRENT)


def _replace_link(target: str, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)


def crash_point(name: str) -> None:
    """Kill this process here when the tests ask for it (``FLOE_CRASH_AT``), to check that a
    build killed at any step leaves every site whole."""
    if os.environ.get(CRASH_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
