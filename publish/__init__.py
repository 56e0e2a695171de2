"""Publishing built sites: ``build/<domain>/`` synced to an S3 bucket, optionally behind
CloudFront, or prepared for Netlify. It reads the renderer's output and ``floe``'s settings,
never the renderer's or the service's code. Usable without the command line:
:func:`publish.s3.deploy_site`.

- :mod:`.target`: where a tenant's site goes (bucket, distribution) and the clients to get there;
- :mod:`.netlify_redirects`, :mod:`.netlify_headers`: the build's ``_redirects`` and
  ``_headers``, read as Netlify reads them (the one reader of each, for the deploys, the
  CloudFront stack's parameters and the tests);
- :mod:`.site_files`: what the build holds, each file with its hashes, headers and redirect;
- :mod:`.s3_plan`: what the bucket holds, and what to upload and delete;
- :mod:`.aws_calls`: boto3 calls on a thread pool, and their failures said in one line;
- :mod:`.s3`: the S3 upload itself, uploads first and deletes last;
- :mod:`.cloudfront`: the CloudFront stack's parameters from a built site, the CDN paths a
  deploy changed and their invalidation;
- :mod:`.netlify_signed`: a Netlify site's ``/app/*`` proxy made a signed rule;
- :mod:`.domains`: the tenants' domains, for the scripts of ``ops/``.

The cache policy the deploys and the renderer's ``_headers`` share is :mod:`floe.cache_policy`.
This module imports only the standard library: ``python -m publish.domains`` runs before the
dependencies are installed.
"""

from __future__ import annotations

from typing import Protocol


class DeployError(Exception):
    """A deploy could not go on; the message says what happened and what to do."""


class Progress(Protocol):
    """How a deploy reports its progress (the command line's bar satisfies it)."""

    def start(self, phase: str, total: int) -> None:
        """A phase of ``total`` steps begins (comparing, uploading, deleting)."""

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps of the current phase are done."""


class Silent:
    """No progress shown: for library callers and tests."""

    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass
