"""A digest of everything a build reads, to tell in a few milliseconds that nothing changed.

It imports nothing heavy (no Flask, no Markdown, not even importlib.metadata), so
``python build.py`` can answer "nothing changed" before loading the renderer. The digest covers
every file under content/ and site/ by path, size, modification and change times (to the
nanosecond) and inode, as git's index and make do; the renderer's code by content; the versions
of the libraries that shape the output; and the build's options. The build writes it only after
it succeeded. Past this shortcut, everything is keyed by content hashes (see
:mod:`renderer.engine.build_cache`); the same stat of each file lets the build skip reading content
files that did not change (see :mod:`renderer.content.record_store`).

A file modified less than :data:`RACY_NS` before the scan is *racy*, as git calls it: a later
edit of the same size could keep the same modification time, so its stat proves nothing. Its
content hash is recorded instead and compared next time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from renderer.engine import cache_keys

#: Libraries whose version can change the output (the build cache keeps parsed front matter,
#: converted markdown and image sizes too).
PACKAGES = (
    "flask",
    "frozen-flask",
    "flask-flatpages",
    "markdown",
    "pygments",
    "jinja2",
    "pyyaml",
    "lxml",
    "imagesize",
)
FILE = "inputs.json"
#: Files modified this recently before a scan are checked by content, not by their stat.
RACY_NS = 2_000_000_000
#: What stat says of a file: size, modification time, inode, change time.
Stat = tuple[int, int, int, int]


@dataclass
class Inputs:
    """What a build reads, as seen before it started: the digest, and each file's stat."""

    digest: str
    root: Path
    #: "content/posts/x.md" → its stat, for every file under content/ and site/
    files: dict[str, Stat] = field(default_factory=dict)
    #: When the scan began (nanoseconds since the epoch).
    started_ns: int = 0
    #: The content hash of every racy file, taken before the build read it.
    racy: dict[str, str] = field(default_factory=dict)


def is_racy(stat: Stat, scanned_ns: int) -> bool:
    """Whether a file with ``stat`` changed too shortly before ``scanned_ns`` to trust it.

    The change time is the later of the two times and cannot be set by tools that restore a
    modification time.
    """
    return max(stat[1], stat[3]) >= scanned_ns - RACY_NS


def content_hash(path: Path | str) -> str:
    with open(path, "rb") as file:
        return cache_keys.digest_bytes(file.read())


def scan_tree(root: Path, prefix: str, found: dict[str, Stat]) -> None:
    """Add every file under ``root`` to ``found`` as ``prefix`` + its path there: its stat.

    Like ``os.walk``: symbolic links to folders are listed, not followed; links to files are
    stat'ed through.
    """
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_dir():
            if not entry.is_symlink():
                scan_tree(Path(entry.path), f"{prefix}{entry.name}/", found)
            continue
        info = entry.stat()
        found[prefix + entry.name] = (
            info.st_size,
            info.st_mtime_ns,
            info.st_ino,
            info.st_ctime_ns,
        )


def scan_inputs(project: Path, tenants: Iterable[str], drafts: bool, today: dt.date) -> Inputs:
    """Stat every input file and digest the lot with the options and the code."""
    started = time.time_ns()
    files: dict[str, Stat] = {}
    for name in ("content", "site"):
        scan_tree(project / name, f"{name}/", files)
    digest = cache_keys.digest([sorted(tenants), drafts, today], code_digest(), files)
    racy = {}
    for rel, stat in files.items():
        if is_racy(stat, started):
            try:
                racy[rel] = content_hash(project / rel)
            except OSError:  # gone already: the next scan sees it
                racy[rel] = ""
    return Inputs(digest, project, files, started, racy)


_code_digest: str | None = None


def code_digest() -> str:
    """The renderer's and floe's code, and the versions of the libraries that shape output.

    Computed once per process: the code does not change while it runs.
    """
    global _code_digest
    if _code_digest is None:
        digest = cache_keys.new_hash()
        here = Path(__file__).resolve().parents[1]  # renderer/
        for root in (here, here.parent / "floe"):
            digest.update(f"\0{root.name}\0".encode())
            _hash_code(digest, root)
        for package, version in _versions(PACKAGES).items():
            digest.update(f"{package}={version}".encode())
        digest.update(f"python={sys.version}".encode())
        _code_digest = digest.hexdigest()
    return _code_digest


def _hash_code(digest, root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as file:
                    digest.update(cache_keys.new_hash(file.read()).digest())


def _normalized(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _versions(packages: Iterable[str]) -> dict[str, str]:
    """Installed versions, read from the names of ``*.dist-info`` folders on ``sys.path``.

    importlib.metadata would cost more to import than the whole no-change check; it is the
    fallback for packages installed some other way.
    """
    wanted = {_normalized(p): p for p in packages}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                project, _, version = name[: -len(".dist-info")].partition("-")
                key = _normalized(project)
                if key in wanted and wanted[key] not in found:
                    found[wanted[key]] = version
    missing = [p for p in wanted.values() if p not in found]
    if missing:
        from importlib.metadata import version as installed_version

        found.update({package: installed_version(package) for package in missing})
    return {package: found[package] for package in wanted.values()}


def unchanged_since_last_build(cache_dir: Path, inputs: Inputs) -> dict | None:
    """The last build's summary when it had exactly these inputs and its output is in place.

    Files that were racy when the last build scanned them must still have the content it saw.
    """
    try:
        record = json.loads((cache_dir / FILE).read_text())
    except (OSError, ValueError):
        return None
    if record.get("inputs") != inputs.digest:
        return None
    for rel, expected in record.get("racy", {}).items():
        try:
            if content_hash(inputs.root / rel) != expected:
                return None
        except OSError:
            return None
    for tenant in record.get("tenants", []):
        if not Path(tenant.get("output", "")).is_dir():
            return None
    return record


def record_build(cache_dir: Path, inputs: Inputs, tenants: list[dict]) -> None:
    """Remember the inputs of a build that succeeded, with the racy files' hashes."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    record = {"inputs": inputs.digest, "racy": inputs.racy, "tenants": tenants}
    temporary = cache_dir / f"{FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(record, indent=1))
    os.replace(temporary, cache_dir / FILE)


def forget(cache_dir: Path) -> None:
    """Before a build changes the output, the record of the last one no longer holds."""
    (cache_dir / FILE).unlink(missing_ok=True)
