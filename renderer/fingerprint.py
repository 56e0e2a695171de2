"""A digest of everything a build reads, to tell in a few milliseconds that nothing changed.

It imports nothing heavy (no Flask, no Markdown), so ``python build.py`` can answer "nothing
changed" before loading the renderer. The digest covers every file under content/ and site/
by path, size, modification time (to the nanosecond) and inode, as git's index and make do;
the renderer's code by content; the versions of the libraries that shape the output; and the
build's options. The build writes it only after it succeeded. Past this shortcut, everything
is keyed by content hashes (see :mod:`renderer.incremental`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path

PACKAGES = ("flask", "frozen-flask", "flask-flatpages", "markdown", "pygments", "jinja2")
FILE = "inputs.json"


def _hash_tree(digest, root: Path, *, contents: bool) -> None:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if contents and not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode() + b"\0")
            if contents:
                with open(path, "rb") as file:
                    digest.update(hashlib.sha256(file.read()).digest())
            else:
                info = os.stat(path)
                digest.update(f"{info.st_size} {info.st_mtime_ns} {info.st_ino}\0".encode())


def inputs_digest(project: Path, tenants: Iterable[str], drafts: bool, today: dt.date) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([sorted(tenants), drafts, today.isoformat()]).encode())
    for root in (project / "content", project / "site"):
        digest.update(f"\0{root.name}\0".encode())
        _hash_tree(digest, root, contents=False)
    digest.update(code_digest().encode())
    return digest.hexdigest()


def code_digest() -> str:
    """The renderer's and floe's code, and the versions of the libraries that shape output."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for root in (here, here.parent / "floe"):
        digest.update(f"\0{root.name}\0".encode())
        _hash_tree(digest, root, contents=True)
    for package in PACKAGES:
        digest.update(f"{package}={version(package)}".encode())
    return digest.hexdigest()


def unchanged_since_last_build(cache_dir: Path, digest: str) -> dict | None:
    """The last build's summary when it had exactly these inputs and its output is in place."""
    try:
        record = json.loads((cache_dir / FILE).read_text())
    except (OSError, ValueError):
        return None
    if record.get("inputs") != digest:
        return None
    for tenant in record.get("tenants", []):
        if not Path(tenant.get("output", "")).is_dir():
            return None
    return record


def record_build(cache_dir: Path, digest: str, tenants: list[dict]) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = cache_dir / f"{FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps({"inputs": digest, "tenants": tenants}, indent=1))
    os.replace(temporary, cache_dir / FILE)


def forget(cache_dir: Path) -> None:
    """Before a build changes the output, the record of the last one no longer holds."""
    (cache_dir / FILE).unlink(missing_ok=True)
