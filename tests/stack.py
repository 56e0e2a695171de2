"""The production shape on one loopback port, for browser tests: the host serves the built
static site of the request's domain, and proxies ``/app`` to the dynamic service."""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class Stack:
    def __init__(self, build: Path, service) -> None:
        self.build = build.resolve()
        self.service = service

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/app" or path.startswith("/app/"):
            return self.service(environ, start_response)
        return self.static(Request(environ))(environ, start_response)

    def static(self, request: Request) -> Response:
        site = self.build / request.host.rsplit(":", 1)[0]
        file = (site / request.path.lstrip("/")).resolve()
        if file.is_dir():
            file = file / "index.html"
        if not file.is_relative_to(site) or not file.is_file():
            return Response("not found", status=404)
        mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return Response(file.read_bytes(), mimetype=mimetype)


@contextmanager
def serve(build: Path, service) -> Iterator[int]:
    """Serve the stack on a free loopback port in a thread; yields the port."""
    server = make_server("127.0.0.1", 0, Stack(build, service), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)
