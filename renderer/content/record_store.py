"""Content records kept between builds: an unchanged file is not read, parsed or converted again.

Each post and landing page is stored as the record the last build made of it (front matter
validated, snippets expanded, markdown converted), with everything that record was made from:

- the file's content hash (a file is read and hashed again only when its stat changed, or was
  *racy*: changed too shortly before the last scan for its stat to prove anything, see
  :mod:`renderer.engine.fingerprint`);
- the tenant names (a post's default tenants and the names it may list);
- the fingerprint of each asset it names (its image, ``/static/`` files in its markdown);
- the text of each snippet it includes, nested ones too.

A record is reused only when all of these are the same; anything else goes through the full
path. This module imports nothing heavy, and the full path is the one a clean build takes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from renderer.engine import cache_keys
from renderer.engine.fingerprint import Inputs, Stat, is_racy, scan_tree

EXTENSION = ".md"


@dataclass(frozen=True)
class FileState:
    """A content file as the last build saw it."""

    stat: Stat
    digest: str
    #: Changed too shortly before the scan: hash it again even if its stat is the same.
    racy: bool


def text_hash(data: bytes) -> str:
    return cache_keys.digest_bytes(data)


class SourceFiles:
    """The ``.md`` files under ``content/`` and their content hashes, read only when needed.

    Paths are as Flask-FlatPages names them: relative, without the extension (``posts/x``).
    """

    def __init__(
        self,
        content_dir: Path,
        previous: Mapping[str, FileState],
        inputs: Inputs | None = None,
    ):
        self.content_dir = content_dir
        self.previous = previous
        if inputs is not None and inputs.root / "content" == content_dir:
            prefix = "content/"
            stats = {r[len(prefix) :]: s for r, s in inputs.files.items() if r.startswith(prefix)}
            self.scanned_ns = inputs.started_ns
        else:
            stats = {}
            self.scanned_ns = time.time_ns()
            scan_tree(content_dir, "", stats)
        self.stats = {
            rel[: -len(EXTENSION)]: stat for rel, stat in stats.items() if rel.endswith(EXTENSION)
        }
        self.state: dict[str, FileState] = {}
        self._data: dict[str, bytes] = {}

    def paths(self) -> list[str]:
        return sorted(self.stats)

    def digest(self, path: str) -> str:
        """The file's content hash: the last build's when its stat proves it unchanged."""
        state = self.state.get(path)
        if state is None:
            known = self.previous.get(path)
            if known is not None and known.stat == self.stats[path] and not known.racy:
                # Not racy then, so not racy now: the same state.
                state = self.state[path] = known
            else:
                data = self._data[path] = self._read(path)
                state = self._remember(path, text_hash(data))
        return state.digest

    def data(self, path: str) -> bytes:
        """The file's bytes, as they are on disk (decoding is the reader's job)."""
        data = self._data.pop(path, None)
        if data is None:
            data = self._read(path)
            # What is parsed is what the record is stored under.
            self._remember(path, text_hash(data))
        return data

    def _remember(self, path: str, digest: str) -> FileState:
        stat = self.stats[path]
        state = self.state[path] = FileState(stat, digest, is_racy(stat, self.scanned_ns))
        return state

    def _read(self, path: str) -> bytes:
        with open(os.path.join(self.content_dir, path + EXTENSION), "rb") as file:
            return file.read()


@dataclass(frozen=True)
class Entry:
    """A record and what it was made from."""

    digest: str
    file: str
    tenants: tuple[str, ...]
    #: (asset name, its URL or None when missing) for each asset the record names
    assets: tuple[tuple[str, str | None], ...]
    #: (snippet name, hash of its text) for each snippet the record includes
    snippets: tuple[tuple[str, str], ...]
    #: The key of its markdown conversion (None: not converted).
    conversion: str | None
    record: Any


class RecordStore:
    """Records by content path: those of the last build, and those this build made or kept."""

    def __init__(self, files: SourceFiles, previous: Mapping[str, Entry]):
        self.files = files
        self.previous = previous
        self.entries: dict[str, Entry] = {}

    def reuse(
        self,
        path: str,
        file: str,
        tenants: tuple[str, ...],
        assets: Mapping[str, Any] | None,
        snippets: Mapping[str, str],
    ) -> Any | None:
        """The last build's record of ``path`` when nothing it was made from changed."""
        entry = self.previous.get(path)
        if (
            entry is None
            or entry.file != file
            or entry.tenants != tenants
            or entry.digest != self.files.digest(path)
            or (entry.assets and any(_url(assets, n) != url for n, url in entry.assets))
            or (entry.snippets and any(snippets.get(n) != d for n, d in entry.snippets))
        ):
            return None
        self.entries[path] = entry
        return entry.record

    def keep(
        self,
        path: str,
        record: Any,
        tenants: tuple[str, ...],
        assets: Mapping[str, Any] | None,
        names: Iterable[str],
        snippets: Mapping[str, str],
        conversion: str | None,
    ) -> None:
        """Remember ``record``, made from the file at ``path`` in this context."""
        self.entries[path] = Entry(
            self.files.digest(path),
            record.file,
            tenants,
            tuple((name, _url(assets, name)) for name in sorted(set(names))),
            tuple((name, snippets[name]) for name in sorted(record.snippets)),
            conversion,
            record,
        )


def _url(assets: Mapping[str, Any] | None, name: str) -> str | None:
    asset = (assets or {}).get(name)
    return asset.url if asset is not None else None


def snippet_hashes(texts: Mapping[str, str]) -> dict[str, str]:
    """The hash of each snippet's text, by name."""
    return {name: text_hash(text.encode()) for name, text in texts.items()}


#: Records are stored in this many shard files: saving the build cache writes only the shards
#: whose records changed.
SHARDS = 32
SHARD_PREFIX = "records-"


def _shard(path: str) -> int:
    return int(cache_keys.digest_text(path)[:8], 16) % SHARDS


class PackedEntries:
    """Entries stored as shard files next to the build cache, each named by its content hash
    (so a file never changes once written), with the entries they hold."""

    def __init__(self, names: list[str], entries: dict[str, Entry]):
        self.names, self.entries = names, entries

    @classmethod
    def load(cls, folder: Path, names: list[str]) -> PackedEntries:
        entries: dict[str, Entry] = {}
        for name in names:
            with open(folder / name, "rb") as file:
                entries.update(pickle.load(file))
        return cls(list(names), entries)

    @classmethod
    def save(
        cls, folder: Path, entries: Mapping[str, Entry], previous: PackedEntries | None
    ) -> PackedEntries:
        """Store ``entries``, keeping the shard files of ``previous`` that hold the same objects.

        Shard files no longer named are left for :func:`remove_unused_shards`.
        """
        shards = _split(entries)
        before = _split(previous.entries) if previous is not None else None
        names = []
        for index, shard in enumerate(shards):
            if previous is not None and before is not None and _same(shard, before[index]):
                names.append(previous.names[index])
                continue
            data = pickle.dumps(shard, protocol=pickle.HIGHEST_PROTOCOL)
            name = f"{SHARD_PREFIX}{cache_keys.digest_bytes(data)}.pickle"
            if not (folder / name).exists():
                temporary = folder / f"{name}.{os.getpid()}.tmp"
                temporary.write_bytes(data)
                os.replace(temporary, folder / name)
            names.append(name)
        return cls(names, dict(entries))


def remove_unused_shards(folder: Path, names: Iterable[str]) -> None:
    """Delete the shard files in ``folder`` that are not among ``names``."""
    keep = set(names)
    for entry in os.scandir(folder):
        if entry.name.startswith(SHARD_PREFIX) and entry.name not in keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


def _split(entries: Mapping[str, Entry]) -> list[dict[str, Entry]]:
    shards: list[dict[str, Entry]] = [{} for _ in range(SHARDS)]
    for path, entry in entries.items():
        shards[_shard(path)][path] = entry
    return shards


def _same(shard: dict[str, Entry], before: dict[str, Entry]) -> bool:
    return shard.keys() == before.keys() and all(
        entry is before[path] for path, entry in shard.items()
    )
