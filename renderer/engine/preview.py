"""``build.py serve``: one tenant's site, rendered on request, reloaded when a source changes.

A watcher thread is told by the operating system (through watchfiles) when a file under
content/ or site/ changes; it then loads the sources again (unchanged markdown is not
converted again) and swaps in a new app.
Every HTML page carries a small script that asks ``/__floe/version`` twice a second and
reloads the page when the version changes, so a saved post, snippet, template or TOML file
shows in the open browser within a second. A source error is shown in the page, not a crash.
"""

from __future__ import annotations

import datetime as dt
import html
import threading
from pathlib import Path

import watchfiles
from flask import Flask, Response
from jinja2 import TemplateSyntaxError
from werkzeug.exceptions import InternalServerError

from floe.errors import SourceError
from renderer.content.flatpages_adapter import ContentReader
from renderer.content.sources import load_sources
from renderer.engine.paths import ProjectPaths
from renderer.views.app import create_app

PREFIX = "/__floe/"
#: How long the watcher waits for more changes before reloading (a save can touch several
#: files), in milliseconds.
STEP_MS = 50
LIVE_SCRIPT = """(function () {
  var version = null;
  function check() {
    fetch("/__floe/version", {cache: "no-store"}).then(function (r) { return r.text(); })
      .then(function (v) {
        if (version !== null && v !== version) { location.reload(); }
        version = v;
      }).catch(function () {}).finally(function () { setTimeout(check, 500); });
  }
  check();
})();
"""
ERROR_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Build error</title><style>
body{{font:16px/1.5 system-ui,sans-serif;margin:2rem;max-width:60rem}}
li{{margin:.5rem 0;font-family:ui-monospace,monospace}}h1{{color:#b00020}}</style></head>
<body><h1>The site cannot be built</h1><p>Fix these and save: this page reloads by itself.</p>
<ul>{items}</ul><script src="/__floe/live.js"></script></body></html>"""


class Preview:
    """The WSGI app ``serve`` runs: the current tenant app, or the current build errors."""

    def __init__(
        self, paths: ProjectPaths, tenant: str, *, drafts: bool = True, today: dt.date | None = None
    ):
        self.paths, self.tenant, self.drafts, self.today = paths, tenant, drafts, today
        self.reader = ContentReader(paths.content)
        self.conversions: dict = {}
        self.version = 0
        self.app: Flask | None = None
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self.reload()

    def _roots(self) -> list[Path]:
        return [self.paths.content, self.paths.site]

    def reload(self) -> None:
        """Load the sources again and swap in a fresh app (or the problems found)."""
        try:
            sources = load_sources(
                self.paths,
                drafts=self.drafts,
                today=self.today,
                reader=self.reader,
                conversions=self.conversions,
            )
            if self.tenant not in sources.tenants:
                raise SourceError([])  # reported below
            app, problems = create_app(self.tenant, sources), []
            app.after_request(_inject_live_script)
            app.register_error_handler(InternalServerError, _error_page)
        except SourceError as error:
            app, problems = (
                None,
                [str(p) for p in error.problems]
                or [f"no tenant named {self.tenant!r} in site/tenants.toml"],
            )
        with self._lock:
            self.app, self.problems = app, problems
            self.version += 1

    def watch(self, stop: threading.Event) -> None:
        """Reload after each batch of changes under content/ and site/, until ``stop`` is set.

        Editors' temporary files (swap and backup files, ``.git``) are not changes.
        """
        for _changes in watchfiles.watch(
            *self._roots(), stop_event=stop, step=STEP_MS, raise_interrupt=False
        ):
            self.reload()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == PREFIX + "version":
            return Response(
                str(self.version), mimetype="text/plain", headers={"Cache-Control": "no-store"}
            )(environ, start_response)
        if path == PREFIX + "live.js":
            return Response(LIVE_SCRIPT, mimetype="text/javascript")(environ, start_response)
        with self._lock:
            app, problems = self.app, self.problems
        if app is None:
            items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
            page = ERROR_PAGE.format(items=items)
            return Response(page, status=500, mimetype="text/html")(environ, start_response)
        return app(environ, start_response)


def _inject_live_script(response: Response) -> Response:
    if response.mimetype == "text/html" and not response.direct_passthrough:
        page = response.get_data(as_text=True)
        script = '<script src="/__floe/live.js"></script>'
        response.set_data(page.replace("</body>", script + "</body>", 1))
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_page(error: InternalServerError) -> tuple[str, int]:
    """A template error while previewing: shown in the page, and the server keeps going."""
    cause = error.original_exception or error
    where = ""
    if isinstance(cause, TemplateSyntaxError):
        where = f"{cause.filename}:{cause.lineno}: "
    return ERROR_PAGE.format(items=f"<li>{html.escape(where + repr(cause))}</li>"), 500


def serve(
    paths: ProjectPaths,
    tenant: str,
    host: str,
    port: int,
    *,
    drafts: bool = True,
    ready: threading.Event | None = None,
) -> None:
    """Run the preview until interrupted."""
    from werkzeug.serving import make_server

    preview = Preview(paths, tenant, drafts=drafts)
    stop = threading.Event()
    watcher = threading.Thread(target=preview.watch, args=(stop,), daemon=True)
    watcher.start()
    server = make_server(host, port, preview, threaded=True)
    print(
        f"Previewing {tenant} on http://{host}:{server.server_port}/ (Ctrl-C to stop)", flush=True
    )
    if ready is not None:
        ready.set()
    try:
        server.serve_forever()
    finally:
        stop.set()
