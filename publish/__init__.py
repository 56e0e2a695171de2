"""Publishing a built site: ``build/<domain>/`` synced to an S3 bucket, optionally behind
CloudFront. Usable without the command line: :func:`renderer.deploy.sync.deploy_site`.

- :mod:`.target`: where a tenant's site goes (bucket, distribution) and the clients to get there;
- :mod:`.redirects`, :mod:`.headers`: the build's ``_redirects`` and ``_headers``, read as
  Netlify reads them (the one reader of each, for the deploys, deploy/cloudfront.py and tests);
- :mod:`.local`: what the build holds, each file with its hashes, headers and redirect;
- :mod:`.plan`: what the bucket holds, and what to upload and delete;
- :mod:`.calls`: boto3 calls on a thread pool, and their failures said in one line;
- :mod:`.cloudfront`: the CDN paths a deploy changed, and their invalidation;
- :mod:`.sync`: the deploy itself, uploads first and deletes last.
"""

from __future__ import annotations


class DeployError(Exception):
    """A deploy could not go on; the message says what happened and what to do."""
