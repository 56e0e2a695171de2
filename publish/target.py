"""Where a tenant's site is deployed: its build folder, its bucket and CloudFront distribution
(site/tenants.toml, overridden on the command line), and the boto3 clients to reach them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError

from floe.tenants import Tenant
from publish import DeployError

#: Requests in flight at once (and connections in each client's pool).
WORKERS = 16


@dataclass(frozen=True)
class Target:
    """Where one tenant's site is and where it goes."""

    site: Path
    bucket: str
    #: The CloudFront distribution to invalidate, or None.
    distribution: str | None


def target_for(
    tenant: Tenant, out: Path, bucket: str | None = None, invalidate: bool | None = None
) -> Target:
    """Where to deploy ``tenant``'s site, built under ``out``: ``bucket`` over the tenant's
    settings; invalidation when a distribution is set, unless ``invalidate`` says otherwise."""
    site = out / tenant.domain
    if not (site / "index.html").is_file():
        raise DeployError(
            f"{site} holds no built site: run python build.py --tenant {tenant.key} first"
        )
    where = f"[tenants.{tenant.key}.deploy] of site/tenants.toml"
    bucket = bucket or tenant.deploy.s3_bucket
    if not bucket:
        raise DeployError(
            f"no S3 bucket for tenant {tenant.key!r}: set s3_bucket in {where}, or pass --bucket"
        )
    distribution = tenant.deploy.cloudfront_distribution
    if invalidate and not distribution:
        raise DeployError(
            f"--invalidate: no CloudFront distribution for tenant {tenant.key!r}: set "
            f"cloudfront_distribution in {where}"
        )
    # The build folder build/<domain> leads to now: a build that finishes during the deploy
    # publishes another folder and leaves this one as it is (see renderer.output).
    return Target(site.resolve(), bucket, distribution if invalidate is not False else None)


def make_clients(endpoint_url: str | None = None) -> tuple[Any, Any]:
    """An S3 client (at ``endpoint_url`` when given, else where boto3's configuration says:
    ``AWS_ENDPOINT_URL_S3``, the profile …) and a CloudFront client."""
    import boto3
    from botocore.config import Config

    config = Config(max_pool_connections=WORKERS)
    try:
        session = boto3.session.Session()
        s3 = session.client("s3", endpoint_url=endpoint_url, config=config)
        return s3, session.client("cloudfront", config=config)
    except BotoCoreError as error:  # an unknown profile, a malformed endpoint …
        raise DeployError(f"AWS configuration: {error}") from None
