"""Where a Floe project keeps its sources (importing nothing heavy, for the command line)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProjectPaths:
    """Where a Floe project keeps its sources; tests point it at a copy."""

    root: Path

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def templates(self) -> Path:
        return self.site / "templates"

    @property
    def static(self) -> Path:
        return self.site / "static"

    @property
    def tenants_file(self) -> Path:
        return self.site / "tenants.toml"

    @property
    def experiments_file(self) -> Path:
        return self.site / "experiments.toml"

    def template_dirs(self, tenant: str) -> list[Path]:
        """Template folders for ``tenant``, its own overrides first."""
        return [self.templates / "tenants" / tenant, self.templates]

    def find_template(self, tenant: str, name: str) -> Path | None:
        for folder in self.template_dirs(tenant):
            if (folder / name).is_file():
                return folder / name
        return None


class OutsideOutput(ValueError):
    """A file the build would write (or delete) resolves outside the folder it builds into."""


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused unless it resolves under ``root``.

    The second wall behind the front-matter checks: whatever a URL or a cached file name holds
    (``..`` segments, an absolute path, a symbolic link on the way), the build never writes or
    deletes a file outside its staging folder.
    """
    path = root / relative
    base = root.resolve()
    resolved = path.resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise OutsideOutput(
            f"{relative!r} resolves to {resolved}, outside the build's folder {base}: "
            "nothing was written there"
        )
    return path
