"""A deploy: make the bucket hold exactly the build, without a moment where the site is broken.

New and changed files are uploaded first, fingerprinted assets before the pages that name
them; stale keys are deleted last, and only when every upload succeeded; then CloudFront is
told which paths changed. Requests run on a bounded pool of threads sharing one boto3 client
(clients are thread-safe).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from floe.assets import PREFIX
from floe.progress import Progress, Silent
from publish import DeployError
from publish.aws_calls import describe, run_all
from publish.cloudfront import invalidate, invalidation_paths
from publish.s3_plan import Plan, compare, list_bucket, settle
from publish.site_files import HASH_KEY, LocalFile, scan_site
from publish.target import WORKERS

#: DeleteObjects takes at most a thousand keys a request.
DELETE_BATCH = 1000
#: Uploaded first: the pages uploaded after them name them.
ASSETS = PREFIX.lstrip("/")


@dataclass
class DeployResult:
    """What a deploy did (or, with ``dry_run``, would do)."""

    bucket: str
    plan: Plan
    dry_run: bool = False
    deleted: list[str] = field(default_factory=list)
    #: The paths invalidated on CloudFront (or that would be), and the invalidation's id.
    invalidated: list[str] = field(default_factory=list)
    invalidation: str | None = None

    def actions(self, delete: bool) -> list[str]:
        """One line per change, for a dry run."""
        lines = [f"upload  {item.key}  (new)" for item in self.plan.new]
        lines += [f"upload  {item.key}  (changed)" for item in self.plan.changed]
        verb = "delete" if delete else "keep  "
        lines += [f"{verb}  {key}  (not in the build)" for key in self.plan.stale]
        lines += [f"invalidate  {path}" for path in self.invalidated]
        return lines

    def summary(self) -> str:
        plan = self.plan
        would = "would " if self.dry_run else ""
        uploaded = "upload" if self.dry_run else "uploaded"
        parts = [
            f"{would}{uploaded} {len(plan.uploads)} ({len(plan.new)} new, {len(plan.changed)} "
            f"changed; {plan.upload_bytes:,} bytes)",
            f"{len(plan.unchanged)} unchanged",
        ]
        if self.deleted:
            parts.append(f"{would}{'delete' if self.dry_run else 'deleted'} {len(self.deleted)}")
        kept = len(plan.stale) - len(self.deleted)
        if kept:
            parts.append(f"{kept} stale kept (--delete removes {'it' if kept == 1 else 'them'})")
        dry = " (dry run: nothing was changed)" if self.dry_run else ""
        return f"s3://{self.bucket}{dry}: " + ", ".join(parts) + "."


def deploy_site(
    site: Path,
    bucket: str,
    s3: Any,
    *,
    cloudfront: Any = None,
    distribution: str | None = None,
    delete: bool = False,
    dry_run: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> DeployResult:
    """Sync the built ``site`` to ``bucket``; invalidate the changed paths on ``distribution``.

    Raises :class:`DeployError` with one clear line for anything that stops it; nothing is
    deleted unless every upload succeeded.
    """
    if distribution and cloudfront is None:
        raise ValueError("a distribution to invalidate needs a CloudFront client")
    progress = progress or Silent()
    if not (site / "index.html").is_file():  # an empty folder would empty the bucket
        raise DeployError(f"{site} holds no built site (no index.html): build it first")
    with ThreadPoolExecutor(WORKERS) as pool:
        plan = plan_deploy(site, bucket, s3, pool, force=force, progress=progress)
        gone = plan.stale if delete else []
        changed = [item.key for item in plan.changed] + gone
        result = DeployResult(bucket, plan, dry_run, deleted=list(gone))
        if distribution and changed:
            result.invalidated = invalidation_paths(changed)
        if dry_run:
            return result
        uploads = plan.uploads
        for phase, wave in (
            ("Uploading assets", [item for item in uploads if item.key.startswith(ASSETS)]),
            ("Uploading pages", [item for item in uploads if not item.key.startswith(ASSETS)]),
        ):
            run_all(pool, lambda item: _put(s3, bucket, item), wave, progress, phase, bucket)
    if gone:
        _delete(s3, bucket, gone, progress)
    if distribution and result.invalidated:  # (only then are there paths)
        try:
            result.invalidation = invalidate(cloudfront, distribution, result.invalidated)
        except (ClientError, BotoCoreError) as error:
            raise DeployError(
                f"{result.summary()} But invalidating {len(result.invalidated)} paths on "
                f"CloudFront distribution {distribution} failed: {describe(error)} Until they "
                "expire from its cache, visitors may see the old pages: invalidate them in the "
                "CloudFront console, or deploy again with --force."
            ) from None
    return result


def plan_deploy(
    site: Path,
    bucket: str,
    s3: Any,
    pool: ThreadPoolExecutor,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> Plan:
    """What to upload and what is stale: one listing of the bucket, and a HEAD for each
    object whose ETag does not settle it."""
    local = scan_site(site)
    try:
        remote = list_bucket(s3, bucket)
    except (ClientError, BotoCoreError) as error:
        raise DeployError(f"s3://{bucket}: {describe(error)}") from None
    plan, doubtful = compare(local, remote, force=force)
    heads = run_all(
        pool,
        lambda item: _head(s3, bucket, item),
        doubtful,
        progress or Silent(),
        "Comparing",
        bucket,
    )
    settle(plan, doubtful, heads)
    return plan


def _head(s3: Any, bucket: str, item: LocalFile) -> dict | None:
    try:
        return s3.head_object(Bucket=bucket, Key=item.key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            return None  # deleted since the listing: upload it
        raise


def _put(s3: Any, bucket: str, item: LocalFile) -> None:
    data = item.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise DeployError(f"{item.path} changed during the deploy (a build running?).")
    extra = {"WebsiteRedirectLocation": item.redirect} if item.redirect else {}
    s3.put_object(
        Bucket=bucket,
        Key=item.key,
        Body=data,
        ContentType=item.content_type,
        CacheControl=item.cache_control,
        Metadata={HASH_KEY: item.sha256},
        **extra,
    )


def _delete(s3: Any, bucket: str, keys: list[str], progress: Progress) -> None:
    progress.start("Deleting", len(keys))
    for start in range(0, len(keys), DELETE_BATCH):
        batch = keys[start : start + DELETE_BATCH]
        try:
            answer = s3.delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
        except (ClientError, BotoCoreError) as error:
            raise DeployError(f"deleting from s3://{bucket}: {describe(error)}") from None
        for failed in answer.get("Errors", []):
            raise DeployError(
                f"deleting s3://{bucket}/{failed['Key']}: {failed.get('Code')}: "
                f"{failed.get('Message')}. Every upload is done; deploy again to retry."
            )
        progress.advance(len(batch))
