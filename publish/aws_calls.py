"""Running boto3 calls on a thread pool, and saying in one line why one failed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from floe.progress import Progress
from publish import DeployError
from publish.site_files import LocalFile

T = TypeVar("T")


def describe(error: Exception) -> str:
    """One line saying what went wrong, and what to do where it is clear."""
    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "AWS_PROFILE (a profile of ~/.aws/config), or run where a role provides them."
        )
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        hint = {
            "NoSuchBucket": " Check the bucket's name, region and endpoint.",
            "AccessDenied": " The credentials need s3:ListBucket, s3:GetObject, s3:PutObject "
            "and s3:DeleteObject on the bucket (cloudfront:CreateInvalidation to invalidate).",
            "NoSuchDistribution": " Check cloudfront_distribution in site/tenants.toml.",
        }.get(code, "")
        return f"{code}: {message.rstrip('.')}.{hint}"
    return f"{str(error).rstrip('.')}."


def run_all(
    pool: ThreadPoolExecutor,
    task: Callable[[LocalFile], T],
    items: Iterable[LocalFile],
    progress: Progress,
    phase: str,
    bucket: str,
) -> dict[str, T]:
    """``task`` of every item on ``pool``: the results by key. At the first failure the tasks
    not started are cancelled, the running ones finish, and :class:`DeployError` says which
    file failed and how many are done."""
    items = list(items)
    if not items:
        return {}
    progress.start(phase, len(items))
    futures = {pool.submit(task, item): item for item in items}
    results: dict[str, T] = {}
    failure: tuple[str, Exception] | None = None
    for future in as_completed(futures):
        if future.cancelled():
            continue
        key = futures[future].key
        try:
            results[key] = future.result()
        except (ClientError, BotoCoreError, OSError, DeployError) as error:
            if failure is None:
                failure = (key, error)
                for other in futures:
                    other.cancel()
            continue
        progress.advance()
    if failure is not None:
        failed_key, failed = failure
        text = failed if isinstance(failed, DeployError) else describe(failed)
        raise DeployError(
            f"{phase}: s3://{bucket}/{failed_key}: {text} {len(results)} of {len(items)} "
            "done before it stopped; nothing was deleted. Deploy again once it is fixed."
        )
    return results
