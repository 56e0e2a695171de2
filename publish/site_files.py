"""What a built site holds, as its bucket should hold it: one object per file, with the hashes a
deploy compares, the headers of :mod:`floe.cache_policy`, and the redirects of renamed posts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from floe import cache_policy
from publish import DeployError, netlify_redirects

#: Netlify's rule files: S3 would serve them as pages. On CloudFront the same rules come from
#: the build's _redirects through the distribution's function (publish/cloudfront.py).
NETLIFY_ONLY = frozenset({"_redirects", "_headers"})
#: Each object's SHA-256, in its metadata (``x-amz-meta-sha256``): S3's ETag is the MD5 only
#: for single-part uploads without SSE-KMS.
HASH_KEY = "sha256"


@dataclass(frozen=True)
class LocalFile:
    """One file of the build, as the object it becomes."""

    key: str
    path: Path
    size: int
    md5: str
    sha256: str
    content_type: str
    cache_control: str
    #: For the fallback page at a renamed post's old address: the new address, which S3's
    #: website endpoint answers with a 301 (``x-amz-website-redirect-location``).
    redirect: str | None = None


def scan_site(site: Path) -> dict[str, LocalFile]:
    """Every file of ``site`` by its key, but Netlify's rule files and hidden files."""
    redirects = alias_redirects(site)
    files: dict[str, LocalFile] = {}
    for path in sorted(site.rglob("*")):
        key = path.relative_to(site).as_posix()
        if key in NETLIFY_ONLY or path.name.startswith(".") or not path.is_file():
            continue
        data = path.read_bytes()
        served = cache_policy.served("/" + key)
        files[key] = LocalFile(
            key,
            path,
            len(data),
            hashlib.md5(data, usedforsecurity=False).hexdigest(),
            hashlib.sha256(data).hexdigest(),
            served.content_type,
            served.cache_control,
            redirects.get(key),
        )
    return files


def alias_redirects(site: Path) -> dict[str, str]:
    """The key of each fallback page the build wrote at a renamed post's old address → the
    post's address, from the ``301!`` rules of the build's own ``_redirects``."""
    rules = site / "_redirects"
    try:
        parsed = netlify_redirects.parse(rules.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as error:
        raise DeployError(f"{site}/{error}") from None
    found: dict[str, str] = {}
    for rule in parsed:
        if rule.status != 301 or rule.proxy or rule.splat:
            continue
        key = file_key(site, rule.source)
        if key is None:
            raise DeployError(
                f"{rules}:{rule.line}: the build has no page at {rule.source}, which this rule "
                "redirects: build the site again (python build.py --clean)"
            )
        found[key] = rule.target
    return found


def file_key(site: Path, url: str) -> str | None:
    """The key of the file a static host serves at ``url``: the file itself, or the
    ``index.html`` of a pretty URL's folder (``/blog/`` and ``/blog`` → ``blog/index.html``)."""
    relative = unquote(url).lstrip("/")
    if relative and not relative.endswith("/") and (site / relative).is_file():
        return relative
    index = (relative.rstrip("/") + "/index.html").lstrip("/")
    return index if (site / index).is_file() else None


def url_paths(key: str) -> list[str]:
    """The URL paths a visitor fetches ``key`` at: ``blog/index.html`` is ``/blog/`` too."""
    paths = ["/" + key]
    if key == "index.html" or key.endswith("/index.html"):
        paths.insert(0, "/" + key.removesuffix("index.html"))
    return paths
