"""What a page's <head> carries, as site/templates/base.html reads it: shared by the static
pages and the dynamic service's pages, which use the same base template."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from floe.tenants import Tenant


@dataclass(frozen=True)
class ShareImage:
    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Head:
    title: str
    description: str
    canonical: str | None
    image: ShareImage | None = None
    og_type: str = "website"
    published: dt.date | None = None
    modified: dt.date | None = None
    jsonld: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    robots: str | None = None


def page_title(tenant: Tenant, title: str) -> str:
    return tenant.title_format.format(title=title, site=tenant.name)
