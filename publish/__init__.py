"""Publishing a built site: ``build/<domain>/`` synced to an S3 bucket, optionally behind
CloudFront, or readied for Netlify. Usable without the command line: :func:`publish.s3.deploy_site`.

- :mod:`.target`: where a tenant's site goes (bucket, distribution) and the clients to get there;
- :mod:`.netlify_redirects`, :mod:`.netlify_headers`: the build's ``_redirects`` and ``_headers``,
  read as Netlify reads them (the one reader of each, for the deploys, .cloudfront and tests);
- :mod:`.site_files`: what the build holds, each file with its hashes, headers and redirect;
- :mod:`.s3_plan`: what the bucket holds, and what to upload and delete;
- :mod:`.aws_calls`: boto3 calls on a thread pool, their failures said in one line;
- :mod:`.s3`: the S3 upload itself, uploads first and deletes last;
- :mod:`.cloudfront`: the stack's parameters, the CDN paths a deploy changed, their invalidation;
- :mod:`.netlify_signed`: a Netlify site's ``/app/*`` proxy made a signed rule (ops/ runs it);
- :mod:`.domains`: the tenants' domains, for the scripts of ``ops/``.

It reads the build and :mod:`floe` (whose :mod:`floe.cache_policy` the renderer's ``_headers``
shares), never the renderer's or the service's code. This module imports the standard library
only: ``python -m publish.domains`` runs before the dependencies are installed.
"""

from __future__ import annotations


class DeployError(Exception):
    """A deploy could not go on; the message says what happened and what to do."""
