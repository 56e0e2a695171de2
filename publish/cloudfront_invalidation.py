"""Telling CloudFront which paths a deploy changed, so its edges fetch them again."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from publish.site_files import url_paths

#: CloudFront accepts invalidations for at most 3,000 single paths per distribution in
#: progress at once; past that, one wildcard (one path, billed once) is the only request that
#: goes through.
MAX_PATHS = 3000
EVERYTHING = "/*"
#: Characters CloudFront matches as sent: RFC 3986's unreserved and reserved ones. Anything
#: else (non-ASCII, spaces) must be percent-encoded, as browsers send it.
_SAFE = "/-._~!$&'()*+,;=:@"


def invalidation_paths(keys: Iterable[str]) -> list[str]:
    """Every URL path of ``keys`` (``/blog/`` and ``/blog/index.html`` for
    ``blog/index.html``), or ``/*`` when they are more than CloudFront takes at once."""
    paths = sorted({quote(path, safe=_SAFE) for key in keys for path in url_paths(key)})
    return [EVERYTHING] if len(paths) > MAX_PATHS else paths


def invalidate(cloudfront: Any, distribution: str, paths: list[str]) -> str:
    """Ask ``distribution`` to drop ``paths`` from its edges; the invalidation's id.

    The caller reference must be new for each request (a repeated one with other paths is an
    error, with the same paths it returns the old invalidation without doing anything): the
    paths' digest and the time make it so, and stay the same for botocore's own retries.
    """
    digest = hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]
    answer = cloudfront.create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": f"floe-{time.time_ns()}-{digest}",
        },
    )
    return answer["Invalidation"]["Id"]
