"""What Netlify sees and reads: the repository as it clones it, the tenants it builds, and
each site's ``_redirects`` as Netlify's own parser reads them (run with Node.js)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from floe.tenants import load_tenants
from tests.conftest import REPO
from tests.helpers.browser import node_json, require

TENANTS = load_tenants(REPO / "site" / "tenants.toml")
JS = REPO / "tests" / "js"


def repository_files() -> list[Path]:
    """The files git tracks or would track (not build/, .venv/ or other ignored files)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [Path(name) for name in filter(None, listed.split("\0")) if (REPO / name).is_file()]


def checkout(tmp_path: Path) -> Path:
    """What Netlify clones: the repository's files, in a folder of their own."""
    root = tmp_path / "repo"
    for name in repository_files():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    return root


def parse_redirects(path: Path) -> dict:
    if shutil.which("node") is None:
        require("Node.js is not installed (it runs Netlify's _redirects parser)")
    if not (JS / "node_modules" / "@netlify" / "redirect-parser").is_dir():
        require("Netlify's parser is not installed: npm ci --prefix tests/js")
    return node_json(JS / "parse_redirects.mjs", str(path))
