"""What CloudFront is told about a built site: the parameters of its stack
(ops/cloudfront.yaml), and after each S3 deploy the paths that changed, so its edges fetch
them again.

The stack's parameters come one ``Key=Value`` per line, for ``aws cloudformation deploy
--parameter-overrides``:

    python -m publish.cloudfront build/tallystack.example

Domain is the site's folder; AppOriginDomain the host its ``/app/*`` rule proxies to; EdgeRules
every other rule of its ``_redirects`` (renamed posts, split tests), as JSON for the
distribution's function. A rule the function cannot apply as Netlify does (it cannot see the
bucket's files, so every rule must be forced, ``!``), or more rules than a CloudFormation
parameter holds, exits 2 with the reason.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from publish import netlify_redirects
from publish.site_files import url_paths

# --- the stack's parameters -----------------------------------------------------------------------

#: The most characters CloudFormation takes in one parameter value.
PARAMETER_LIMIT = 4096
APP_RULE = "/app/*"
STATUSES = (200, 301, 302)


def parameters(site: Path) -> dict[str, str]:
    """Domain, AppOriginDomain and EdgeRules for the site built in ``site``."""
    try:
        text = (site / "_redirects").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{site}: no _redirects here: give the folder of a built site") from None
    rules = netlify_redirects.parse(text)
    app = [r for r in rules if r.source == APP_RULE]
    if len(app) != 1 or not app[0].proxy or app[0].status != 200:
        raise ValueError(f"{site}/_redirects: no single {APP_RULE} proxy to the dynamic service")
    origin = urlsplit(app[0].target)
    edge = []
    for rule in rules:
        if rule is app[0]:
            continue
        where = f"{site}/_redirects:{rule.line}"
        if rule.splat:
            raise ValueError(f"{where}: {rule.source}: the edge function applies exact paths only")
        if rule.status not in STATUSES:
            answered = ", ".join(map(str, STATUSES))
            raise ValueError(f"{where}: status {rule.status}: the edge function answers {answered}")
        if not rule.force:
            raise ValueError(
                f"{where}: {rule.source}: not forced (write {rule.status}!): the edge function "
                "cannot see the bucket's files, so it would apply the rule where Netlify serves "
                "the file"
            )
        if rule.proxy and urlsplit(rule.target)[:2] != origin[:2]:
            raise ValueError(f"{where}: {rule.target} is not on the {APP_RULE} origin")
        edge.append([rule.source, list(rule.query), rule.target, rule.status, list(rule.cookies)])
    encoded = json.dumps(edge, separators=(",", ":"))
    if len(encoded) > PARAMETER_LIMIT:
        raise ValueError(
            f"{site}/_redirects: its rules take {len(encoded)} characters, more than the "
            f"{PARAMETER_LIMIT} of a CloudFormation parameter: drop old aliases (their fallback "
            "pages still redirect) or end split tests"
        )
    return {"Domain": site.name, "AppOriginDomain": origin.hostname or "", "EdgeRules": encoded}


# --- invalidations after a deploy -----------------------------------------------------------------

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


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m publish.cloudfront build/DOMAIN", file=sys.stderr)
        return 2
    try:
        found = parameters(Path(argv[0]).resolve())
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for key, value in found.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
