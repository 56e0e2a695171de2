"""Serve built sites on loopback the way their hosts do, for benchmarks that need a real origin.

Each request is answered from ``build/<Host>/``: HTTPS with the given certificate, plain HTTP
redirecting to HTTPS, pretty URLs, ``404.html``, the rules of the site's ``_headers`` file and
gzip for text. Loopback only; stop it with Ctrl-C or SIGTERM.

    python bench/serve_sites.py --root build --cert cert.pem --key key.pem
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import mimetypes
import ssl
import sys
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from publish import netlify_headers as headers

TEXT = (
    "text/",
    "application/xml",
    "application/atom+xml",
    "application/json",
    "image/svg+xml",
    "application/javascript",
)


@cache
def header_rules(site: Path) -> list[headers.Rule]:
    """The rules of the site's ``_headers`` (none without one), read once per site."""
    file = site / "_headers"
    return headers.parse(file.read_text(encoding="utf-8")) if file.is_file() else []


def make_handler(root: Path, https_port: int):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "floe-bench"

        def log_message(self, *args) -> None:  # quiet
            pass

        def host(self) -> str:
            return (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()

        def do_HEAD(self) -> None:
            self.do_GET(body=False)

        def do_GET(self, body: bool = True) -> None:
            if not isinstance(self.connection, ssl.SSLSocket):
                port = "" if https_port == 443 else f":{https_port}"
                return self.send(
                    301,
                    b"",
                    "text/plain",
                    {"Location": f"https://{self.host()}{port}{self.path}"},
                    body,
                )
            site = (root / self.host()).resolve()
            path = unquote(urlsplit(self.path).path)
            if not site.is_dir() or not site.is_relative_to(root.resolve()):
                return self.send(404, b"unknown host", "text/plain", {}, body)
            target = (site / path.lstrip("/")).resolve()
            if not target.is_relative_to(site):
                return self.send(404, b"", "text/plain", {}, body)
            if target.is_dir():
                if not path.endswith("/"):
                    return self.send(301, b"", "text/plain", {"Location": path + "/"}, body)
                target = target / "index.html"
            status = 200
            if not target.is_file() or target.name.startswith("_"):
                status, target = 404, site / "404.html"
            data = target.read_bytes()
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            extra = headers.matching(header_rules(site), path)
            if kind.startswith(TEXT) and "gzip" in self.headers.get("Accept-Encoding", ""):
                data = gzip.compress(data, 6, mtime=0)
                extra["Content-Encoding"] = "gzip"
                extra["Vary"] = "Accept-Encoding"
            self.send(
                status,
                data,
                kind + ("; charset=utf-8" if kind.startswith("text/") else ""),
                extra,
                body,
            )

        def send(self, status: int, data: bytes, kind: str, headers: dict, body: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if body:
                self.wfile.write(data)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("build"))
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--https-port", type=int, default=8443)
    parser.add_argument("--http-port", type=int, default=8080)
    args = parser.parse_args()
    handler = make_handler(args.root, args.https_port)
    secure = ThreadingHTTPServer(("127.0.0.1", args.https_port), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    plain = ThreadingHTTPServer(("127.0.0.1", args.http_port), handler)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    print(
        f"serving {args.root} on https://127.0.0.1:{args.https_port} and http://127.0.0.1:{args.http_port}",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        secure.serve_forever()


if __name__ == "__main__":
    main()
