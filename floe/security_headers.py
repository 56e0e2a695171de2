"""The security headers of every page of the sites, wherever it is served from: the build
writes them into each site's ``_headers`` (renderer/views/crawler_files.py), CloudFront's
response headers policy repeats them (ops/cloudfront.yaml, checked by the tests), and the
dynamic service sends them on the split-tested pages it serves
(dynamic/split_tests/assignment.py), which Netlify's ``_headers`` never reach.
"""

from __future__ import annotations

#: The pages' policy: everything from the site itself, nothing inline but JSON-LD data.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'; frame-ancestors 'none'; upgrade-insecure-requests"
)
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
