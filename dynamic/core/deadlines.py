"""Client-side deadlines on PostgreSQL: no request waits on the database for ever.

A server that is alive enforces ``statement_timeout`` itself, but one that is frozen (SIGSTOP,
a stalled disk, a hung proxy) enforces nothing, and the kernel still acknowledges every packet,
so neither TCP keepalives nor ``tcp_user_timeout`` fire. psycopg has no timeout on a query, so
each statement, commit and rollback is armed with a deadline here; one watchdog thread per
process shuts the connection's socket down when it passes, which ends the wait at once with an
OperationalError. SQLAlchemy then sees a broken connection and discards it from the pool.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


class Watchdog:
    """Deadlines on sockets: ``arm`` before a wait, ``disarm`` after it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._armed: dict[int, tuple[float, int]] = {}  # token: (deadline, socket's fd)
        self._expired: set[int] = set()
        self._tokens = itertools.count()
        self._pid: int | None = None

    def arm(self, fd: int, seconds: float) -> int:
        token = next(self._tokens)
        with self._changed:
            if self._pid != os.getpid():  # first use in this process (or after a fork)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="floe-db-watchdog", daemon=True).start()
            if not self._armed:
                self._changed.notify()
            self._armed[token] = (time.monotonic() + seconds, fd)
        return token

    def disarm(self, token: int) -> bool:
        """Forget ``token``; True when its deadline passed (its socket was shut down)."""
        with self._changed:
            self._armed.pop(token, None)
            if token in self._expired:
                self._expired.discard(token)
                return True
            return False

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for token, (deadline, fd) in list(self._armed.items()):
                    if deadline <= now:
                        # Still armed, so the connection is still waiting: its fd is its own.
                        del self._armed[token]
                        self._expired.add(token)
                        _shut_down(fd)
                earliest = min((deadline for deadline, _ in self._armed.values()), default=None)
                self._changed.wait(None if earliest is None else max(0.0, earliest - now))


def _shut_down(fd: int) -> None:
    """End every wait on the socket ``fd`` (through a duplicate: libpq keeps its own fd)."""
    try:
        duplicate = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()


WATCHDOG = Watchdog()


@contextmanager
def deadline(connection: psycopg.Connection, seconds: float) -> Iterator[None]:
    """Give up on ``connection`` after ``seconds`` (0: wait as long as it takes)."""
    if not seconds or connection.closed:
        yield
        return
    token = WATCHDOG.arm(connection.fileno(), seconds)
    try:
        yield
    except psycopg.Error as error:
        if WATCHDOG.disarm(token):
            raise psycopg.OperationalError(
                f"the database did not answer within {seconds:g} s"
            ) from error
        raise
    else:
        if WATCHDOG.disarm(token):  # answered just as the socket was shut: unusable now
            connection.close()


class DeadlineCursor(psycopg.Cursor):
    def execute(self, *args: Any, **kwargs: Any):
        with deadline(self.connection, _deadline_of(self.connection)):
            return super().execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any):
        with deadline(self.connection, _deadline_of(self.connection)):
            return super().executemany(*args, **kwargs)


def _deadline_of(connection: psycopg.Connection[Any]) -> float:
    """The deadline of a cursor's connection (always a DeadlineConnection: its factory)."""
    assert isinstance(connection, DeadlineConnection)
    return connection.floe_deadline


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every statement, commit and rollback has a deadline."""

    floe_deadline: float = 0.0

    def commit(self) -> None:
        with deadline(self, self.floe_deadline):
            super().commit()

    def rollback(self) -> None:
        with deadline(self, self.floe_deadline):
            super().rollback()


def connect(seconds: float, *args: Any, **kwargs: Any) -> DeadlineConnection:
    """``psycopg.connect`` for SQLAlchemy's ``do_connect`` event, with deadlines of ``seconds``."""
    connection = DeadlineConnection.connect(*args, cursor_factory=DeadlineCursor, **kwargs)
    connection.floe_deadline = seconds
    return connection
