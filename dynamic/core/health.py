"""``GET /app/health``: the service answers and its database does, within HEALTH_TIMEOUT.

A load balancer needs its answer in time even when the database hangs: the check runs in a
thread of its own and the answer is 503 when it has not finished in time. One check at a time
per process: while one is still waiting (bounded by the database timeouts, dynamic/core/db.py), the
next health requests answer 503 at once rather than piling up threads on a frozen server.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late

from flask import Blueprint, Flask, current_app, g, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dynamic.core.error_pages import RETRY_AFTER

bp = Blueprint("health", __name__)

#: Seconds the database check may take before health answers 503.
HEALTH_TIMEOUT = 1.5
_EXTENSION = "floe.health"


class _Checker:
    """One database check at a time, in a thread of this process."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="floe-health")
        self._lock = threading.Lock()
        self._running: Future[str] | None = None

    def check(self) -> str:
        with self._lock:
            if self._running is None or self._running.done():
                self._running = self._executor.submit(_ping, self._app)
            running = self._running
        try:
            return running.result(timeout=HEALTH_TIMEOUT)
        except Late:
            return "timeout"


def _ping(app: Flask) -> str:
    from dynamic.core.db import db

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return "ok"
        except SQLAlchemyError as error:
            app.logger.error("health check: database unreachable: %s", error)
            return "unreachable"


@bp.record_once
def _start(state) -> None:
    state.app.extensions[_EXTENSION] = _Checker(state.app)


@bp.get("/health")
def health():
    database = current_app.extensions[_EXTENSION].check()
    status = 200 if database == "ok" else 503
    response = jsonify(
        status="ok" if status == 200 else "degraded", database=database, tenant=g.tenant.key
    )
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER)
    return response
