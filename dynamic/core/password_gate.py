"""A bound on the password hashes computed at once on this host, so a login storm cannot take
every core from the rest of the site.

One scrypt check (Werkzeug's default) takes tens of milliseconds of one core and 32 MB; about
eight a second kept both cores of a small host busy, and split-test assignment and the health
check, which need a millisecond each, waited behind them. Every hash and check of a password
(login, the unknown-email dummy check, sign-up, password change and reset, the account forms'
current-password checks, ``flask create-admin``) goes through :func:`admitted`:

- at most ``FLOE_PASSWORD_CHECKS`` run at once across all the service's processes on the host
  (default: one fewer than its cores, at least one, so hashing never takes every core);
- at most ``FLOE_PASSWORD_WAITERS`` more wait for a turn, each for ``FLOE_PASSWORD_WAIT_MS`` at
  most (a waiting request holds one of gunicorn's threads: the bound leaves the others free for
  the rest of the site);
- any other is answered at once with 503 and ``Retry-After`` (the tenant's themed page): the
  host is busy, the client did nothing wrong, so not 429.

Why lock files and not Redis. The resource is this host's cores, so the semaphore is the
host's: a Redis semaphore would bound the whole fleet instead (one busy host would refuse
logins that an idle one could serve) and would add a network round trip and a failure mode
to every check. A slot is a file in ``FLOE_PASSWORD_GATE_DIR`` (default: the instance folder)
held with ``fcntl.flock``: every gunicorn worker of the service opens the same files, the
kernel arbitrates, and a worker that dies mid-check gives its slot back as its descriptors
close, with no lease to expire. ``flock`` has no timeout, so a waiter tries every slot without
blocking and retries every few milliseconds until its wait runs out; a check lasts tens of
milliseconds, so the polling costs nothing measurable. The files must be on a local file
system (flock over NFS is emulated or absent).
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, g, has_app_context, jsonify, request
from werkzeug.exceptions import ServiceUnavailable

from dynamic.core.config import ConfigError
from dynamic.core.look import render

#: How often a waiter looks for a free slot again, in seconds.
POLL = 0.005


class PasswordChecksBusy(ServiceUnavailable):
    """Every slot stayed taken for the whole wait (or no waiter's place was free)."""

    description = "Too many sign-ins at this moment. Wait a few seconds, then retry."


def cores() -> int:
    """CPUs this process may run on (the affinity mask, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_checks() -> int:
    """One fewer than the host's cores, at least one: hashing never takes every core."""
    return max(1, cores() - 1)


@dataclass(frozen=True)
class PasswordGate:
    """``checks`` slots to run in and ``waiters`` places to wait in, shared by every process
    that opens the same ``directory``."""

    directory: Path
    checks: int
    waiters: int
    wait: float  # seconds
    retry_after: int = 2  # seconds, for the 503

    def __post_init__(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(
                f"FLOE_PASSWORD_GATE_DIR={str(self.directory)!r}: cannot create it ({error}); "
                "name a writable folder on a local file system, the same for every worker"
            ) from error

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold a slot for the block, waiting ``wait`` at most; else raise PasswordChecksBusy."""
        slot = self._take("check", self.checks)
        if slot is None:
            slot = self._wait_for_slot()
        try:
            yield
        finally:
            os.close(slot)  # closing the descriptor releases its lock

    def _wait_for_slot(self) -> int:
        place = self._take("wait", self.waiters)
        if place is None:
            raise PasswordChecksBusy(retry_after=self.retry_after)
        try:
            deadline = time.monotonic() + self.wait
            while True:
                slot = self._take("check", self.checks)
                if slot is not None:
                    return slot
                if time.monotonic() >= deadline:
                    raise PasswordChecksBusy(retry_after=self.retry_after)
                time.sleep(POLL)
        finally:
            os.close(place)

    def _take(self, kind: str, count: int) -> int | None:
        """A descriptor holding one of the ``count`` locks of ``kind``, or None if all are held.

        Each attempt opens its own descriptor: flock locks belong to an open file, so two
        threads of one process exclude each other just as two processes do.
        """
        if count < 1:
            return None
        first = random.randrange(count)  # spread the attempts over the slots
        for n in range(count):
            path = self.directory / f"{kind}-{(first + n) % count}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None


def init_app(app: Flask) -> None:
    config = app.config
    app.extensions["floe.password_gate"] = PasswordGate(
        directory=Path(config.get("FLOE_PASSWORD_GATE_DIR") or Path(app.instance_path, "gate")),
        checks=config["FLOE_PASSWORD_CHECKS"],
        waiters=config["FLOE_PASSWORD_WAITERS"],
        wait=config["FLOE_PASSWORD_WAIT_MS"] / 1000,
    )

    @app.errorhandler(PasswordChecksBusy)
    def busy(error: PasswordChecksBusy):
        retry = {"Retry-After": str(error.retry_after)}
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            return jsonify(error="busy", message=error.description), 503, retry
        if getattr(g, "tenant", None) is None:
            return f"{error.description}\n", 503, {**retry, "Content-Type": "text/plain"}
        page, status = render(
            "core/message.html", "Busy", 503, heading="Busy", message=error.description
        )
        return page, status, retry


@contextmanager
def admitted() -> Iterator[None]:
    """The gate of the current app around a password hash or check (none outside an app)."""
    gate = current_app.extensions.get("floe.password_gate") if has_app_context() else None
    if gate is None:
        yield
        return
    with gate.admitted():
        yield
