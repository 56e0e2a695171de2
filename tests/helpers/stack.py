"""The production shape on one loopback port, for browser tests: the host serves the built
static site of the request's domain, applies its ``_redirects`` as Netlify's edge does (first
match wins; a rule without ``!`` is shadowed by a file at its path; rewrites by cookie
presence; proxies to the service), optionally adds the headers of its ``_headers`` to the files
it serves (as Netlify does: not to proxied answers), and proxies ``/app`` to the service."""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug.serving import make_server
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from publish import netlify_redirects as redirects
from publish.netlify_headers import for_path as netlify_headers


class Stack:
    def __init__(self, build: Path, service, edge: bool = True, headers: bool = False) -> None:
        self.build = build.resolve()
        self.service = service
        #: False: a plain static host, which cannot route by cookie.
        self.edge = edge
        #: True: the files served carry their ``_headers``. Their policy upgrades insecure
        #: requests, so serve over HTTPS (``serve(…, tls=True)``) when this is on.
        self.headers = headers
        #: The paths of the requests the edge rules sent to the service.
        self.proxied: list[str] = []

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/app" or path.startswith("/app/"):
            return self.service(environ, start_response)
        request = Request(environ)
        rule = self.edge_rule(request)
        if rule is not None and rule.proxy:  # to the service, with the visitor's query
            url = urlsplit(rule.target)
            environ = {
                **environ,
                "PATH_INFO": url.path,
                "QUERY_STRING": request.query_string.decode(),
            }
            self.proxied.append(url.path)
            return self.service(environ, start_response)
        if rule is not None and rule.status in (301, 302):
            return redirect(rule.target, rule.status)(environ, start_response)
        target = rule.target.split("?")[0] if rule is not None else None
        return self.static(request, target)(environ, start_response)

    def site(self, request: Request) -> Path:
        return (self.build / request.host.rsplit(":", 1)[0]).resolve()  # one build throughout

    def edge_rule(self, request: Request) -> redirects.Rule | None:
        """The first rule of the site's ``_redirects`` that applies to this request (splats
        are left to the ``/app`` proxy above)."""
        rules = self.site(request) / "_redirects"
        if not self.edge or not rules.is_file():
            return None
        for rule in redirects.parse(rules.read_text()):
            if rule.splat or not rule.matches(request.path, request.args, request.cookies):
                continue
            if not rule.force and self.file(request) is not None:
                continue  # shadowed: Netlify serves the file at that path instead
            return rule
        return None

    def file(self, request: Request, path: str | None = None) -> Path | None:
        site = self.site(request)
        file = (site / (path or request.path).lstrip("/")).resolve()
        if file.is_dir():
            file = file / "index.html"
        return file if file.is_relative_to(site) and file.is_file() else None

    def static(self, request: Request, path: str | None = None) -> Response:
        file = self.file(request, path)
        if file is None:
            return Response("not found", status=404)
        mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        response = Response(file.read_bytes(), mimetype=mimetype)
        if self.headers:
            response.headers.update(netlify_headers(self.site(request), request.path))
        return response


@contextmanager
def serve(build: Path, service, stack: Stack | None = None, tls: bool = False) -> Iterator[int]:
    """Serve the stack on a free loopback port in a thread (over HTTPS with a throwaway
    self-signed certificate when ``tls``); yields the port."""
    server = make_server(
        "127.0.0.1",
        0,
        stack or Stack(build, service),
        threaded=True,
        ssl_context="adhoc" if tls else None,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)
