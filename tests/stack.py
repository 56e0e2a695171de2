"""The production shape on one loopback port, for browser tests: the host serves the built
static site of the request's domain, applies the split-test rules of its ``_redirects`` as
Netlify's edge does (first match wins; forced rewrites by cookie presence; proxies to the
service), and proxies ``/app`` to the dynamic service."""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class Stack:
    def __init__(self, build: Path, service, edge: bool = True) -> None:
        self.build = build.resolve()
        self.service = service
        #: False: a plain static host, which cannot route by cookie.
        self.edge = edge
        #: The paths of the requests the edge rules sent to the service.
        self.proxied: list[str] = []

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/app" or path.startswith("/app/"):
            return self.service(environ, start_response)
        request = Request(environ)
        target = self.edge_rule(request)
        if target is not None and "://" in target:  # a proxy to the service
            url = urlsplit(target)
            environ = {
                **environ,
                "PATH_INFO": url.path,
                "QUERY_STRING": request.query_string.decode(),
            }
            self.proxied.append(url.path)
            return self.service(environ, start_response)
        return self.static(request, target)(environ, start_response)

    def edge_rule(self, request: Request) -> str | None:
        """The target of the first forced ``_redirects`` rule for this exact path whose query
        and cookie conditions hold (the subset of Netlify's rules the build writes for split
        tests; splats are left to the ``/app`` proxy above)."""
        rules = self.build / request.host.rsplit(":", 1)[0] / "_redirects"
        if not self.edge or not rules.is_file():
            return None
        for line in rules.read_text().splitlines():
            parts = line.split()
            if len(parts) < 3 or parts[0] != request.path:
                continue
            at = next(i for i, p in enumerate(parts[1:], 1) if p.startswith("/") or "://" in p)
            query = [q.split("=")[0] for q in parts[1:at]]  # NAME=:placeholder: present
            to, status, conditions = parts[at], parts[at + 1], parts[at + 2 :]
            cookies = [c.removeprefix("Cookie=") for c in conditions if c.startswith("Cookie=")]
            if not status.endswith("!"):
                continue
            if all(q in request.args for q in query) and all(c in request.cookies for c in cookies):
                return to.split("?")[0]
        return None

    def static(self, request: Request, path: str | None = None) -> Response:
        site = self.build / request.host.rsplit(":", 1)[0]
        file = (site / (path or request.path).lstrip("/")).resolve()
        if file.is_dir():
            file = file / "index.html"
        if not file.is_relative_to(site) or not file.is_file():
            return Response("not found", status=404)
        mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return Response(file.read_bytes(), mimetype=mimetype)


@contextmanager
def serve(build: Path, service, stack: Stack | None = None) -> Iterator[int]:
    """Serve the stack on a free loopback port in a thread; yields the port."""
    server = make_server("127.0.0.1", 0, stack or Stack(build, service), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)
