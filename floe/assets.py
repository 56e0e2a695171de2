"""Fingerprinted assets: every file of site/static and each tenant's CSS bundle.

A content hash in each file name (``css/site.3f9a1c0b7e.css``) lets hosts cache assets for a
year; templates ask ``asset_url('css/site.css')`` for the current name. Shared by the renderer,
which writes the files, and the dynamic service, whose pages link the same ones.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import imagesize
from pygments.formatters import HtmlFormatter

from floe.tenants import Tenant

PREFIX = "/static/"
BUNDLE = "css/site.css"


@dataclass(frozen=True)
class Asset:
    name: str
    url: str
    data: bytes
    width: int | None = None
    height: int | None = None

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


def fingerprint(name: str, data: bytes) -> Asset:
    digest = hashlib.sha256(data).hexdigest()[:10]
    stem, dot, ext = name.rpartition(".")
    hashed = f"{stem}.{digest}.{ext}" if dot and "/" not in ext else f"{name}.{digest}"
    width = height = None
    if name.endswith((".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg")):
        size = imagesize.get(BytesIO(data))
        if size[0] > 0:
            width, height = int(size[0]), int(size[1])
    return Asset(name, PREFIX + hashed, data, width, height)


def read_static(static_dir: Path) -> dict[str, Asset]:
    """Every file under ``static_dir`` by its path there, fingerprinted (read once per build)."""
    if not static_dir.is_dir():
        return {}
    return {
        path.relative_to(static_dir).as_posix(): fingerprint(
            path.relative_to(static_dir).as_posix(), path.read_bytes()
        )
        for path in sorted(static_dir.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


class AssetManifest:
    """One tenant's assets: the shared static files plus its own CSS bundle."""

    def __init__(self, static: Mapping[str, Asset], tenant: Tenant):
        self._assets = dict(static)
        if BUNDLE in self._assets:
            self._assets[BUNDLE] = fingerprint(BUNDLE, _bundle(self._assets[BUNDLE].data, tenant))
        self._by_url = {asset.url: asset for asset in self._assets.values()}

    def __getitem__(self, name: str) -> Asset:
        try:
            return self._assets[name.removeprefix(PREFIX)]
        except KeyError:
            raise LookupError(f"no file site/static/{name.removeprefix(PREFIX)}") from None

    def __contains__(self, name: str) -> bool:
        return name.removeprefix(PREFIX) in self._assets

    def by_url(self, url: str) -> Asset | None:
        return self._by_url.get(url)

    def __iter__(self) -> Iterator[Asset]:
        return iter(self._assets.values())


def _bundle(css: bytes, tenant: Tenant) -> bytes:
    """site.css with the tenant's colours and its code style: one request, cached for a year."""
    theme = tenant.theme
    colours = (
        f":root{{--primary:{theme.primary};--accent:{theme.accent};"
        f"--bg:{theme.background};--text:{theme.text}}}\n"
    )
    code = HtmlFormatter(style=theme.code_style).get_style_defs(".highlight")
    return (
        colours.encode()
        + css
        + b"\n/* Pygments: "
        + theme.code_style.encode()
        + b" */\n"
        + code.encode()
    )
