"""The build cache: what the last successful build knew, and the trees it left.

It holds the content records and conversions (see :mod:`renderer.content.record_store`), each
page's key (see :mod:`renderer.engine.page_keys`) and links, and the journal of what the last
build changed in each tenant's tree, so the next build starts from the tree it replaced.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from renderer.content.markdown import Rendered
from renderer.content.record_store import Entry, FileState, PackedEntries, remove_unused_shards
from renderer.engine.fingerprint import code_digest
from renderer.engine.paths import inside

#: Bumped whenever what the cache holds, or how its keys are made, changes: a cache of
#: another format is ignored (the next build is a full one).
CACHE_FORMAT = 4


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
    folders: set[Path] = set()
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
    folders: set[Path] = set()
    for rel in relative:
        inside(root, rel).unlink(missing_ok=True)
        folders.update(Path(rel).parents)
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        if folder.parts:
            with contextlib.suppress(OSError):  # not empty
                inside(root, folder.as_posix()).rmdir()
