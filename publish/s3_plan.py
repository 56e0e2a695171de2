"""What the bucket holds and what a deploy must change in it.

The listing (ListObjectsV2, a thousand keys a request) gives each object's ETag, which is the
MD5 of its content when it was uploaded in one part without SSE-KMS, as this deploy uploads:
an ETag equal to the file's MD5 settles it without another request. Only the objects whose
ETag says nothing (multipart uploads, SSE-KMS buckets) or differs are asked for their headers
(HeadObject), whose metadata holds the SHA-256 this deploy stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from publish.site_files import HASH_KEY, LocalFile


@dataclass(frozen=True)
class Remote:
    """One object of the bucket, as the listing shows it."""

    etag: str
    size: int


@dataclass
class Plan:
    """What a deploy does: upload ``new`` and ``changed``, delete ``stale`` (when asked)."""

    new: list[LocalFile] = field(default_factory=list)
    changed: list[LocalFile] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def uploads(self) -> list[LocalFile]:
        return sorted(self.new + self.changed, key=lambda item: item.key)

    @property
    def upload_bytes(self) -> int:
        return sum(item.size for item in self.new + self.changed)


def list_bucket(s3: Any, bucket: str) -> dict[str, Remote]:
    """Every object of ``bucket`` by key."""
    found: dict[str, Remote] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = Remote(item["ETag"].strip('"'), item["Size"])
    return found


def compare(
    local: Mapping[str, LocalFile], remote: Mapping[str, Remote], *, force: bool = False
) -> tuple[Plan, list[LocalFile]]:
    """The plan as far as the listing tells, and the files whose object must be asked for its
    headers (see :func:`settle`). With ``force``, every file is uploaded again."""
    plan = Plan(stale=sorted(set(remote) - set(local)))
    doubtful: list[LocalFile] = []
    for key, item in local.items():
        found = remote.get(key)
        if found is None:
            plan.new.append(item)
        elif force:
            plan.changed.append(item)
        elif found.etag == item.md5 and found.size == item.size:
            plan.unchanged.append(key)
        else:
            doubtful.append(item)
    return plan, doubtful


def settle(plan: Plan, doubtful: list[LocalFile], heads: Mapping[str, Mapping | None]) -> None:
    """Sort the doubtful files by their object's headers (``None``: the object is gone)."""
    for item in doubtful:
        head = heads.get(item.key)
        if head is not None and matches(item, head):
            plan.unchanged.append(item.key)
        else:
            plan.changed.append(item)
    plan.unchanged.sort()


def matches(item: LocalFile, head: Mapping) -> bool:
    """Whether the object HeadObject described is ``item``: same content, same headers."""
    return (
        head.get("Metadata", {}).get(HASH_KEY) == item.sha256
        and head.get("ContentType") == item.content_type
        and head.get("CacheControl") == item.cache_control
        and head.get("WebsiteRedirectLocation") == item.redirect
    )
