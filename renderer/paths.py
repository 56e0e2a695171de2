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
