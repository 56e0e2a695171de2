"""A TCP proxy on loopback in front of a real server, to test outages for real.

    with TcpProxy(5432) as proxy:      # forwards 127.0.0.1:proxy.port to 127.0.0.1:5432
        proxy.freeze()                 # connections are accepted, nothing is answered
        proxy.close()                  # every connection, and each new one, is reset
        proxy.thaw()                   # forwarding again, held bytes included

A frozen proxy behaves as a server stopped with SIGSTOP does: the kernel still accepts and
acknowledges, so only the client's own timeouts end its waits.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import TracebackType

_OPEN, _FROZEN, _CLOSED, _STOPPED = "open", "frozen", "closed", "stopped"


class TcpProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._state = _OPEN
        self._changed = threading.Condition()
        self._sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, name=f"tcp-proxy-{self.port}", daemon=True).start()

    # --- what a test does ----------------------------------------------------------------------

    def freeze(self) -> None:
        """Keep accepting, stop forwarding in both directions (nothing is answered)."""
        self._set(_FROZEN)

    def close(self) -> None:
        """Reset every connection, and each new one at once (a server that is down)."""
        self._set(_CLOSED)
        with self._changed:
            for sock in list(self._sockets):
                _reset(sock)
            self._sockets.clear()

    def thaw(self) -> None:
        """Forward again: a frozen connection resumes, new connections reach the server."""
        self._set(_OPEN)

    def stop(self) -> None:
        """Stop listening and reset everything (end of the test)."""
        self.close()
        self._set(_STOPPED)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- inside --------------------------------------------------------------------------------

    def _set(self, state: str) -> None:
        with self._changed:
            self._state = state
            self._changed.notify_all()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            with self._changed:
                if self._state in (_CLOSED, _STOPPED):
                    _reset(client)
                    continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._changed:
                self._sockets.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            with self._changed:  # while frozen, what arrived is held
                self._changed.wait_for(lambda: self._state != _FROZEN)
                if self._state != _OPEN:
                    return
            if not data:
                for sock in (source, target):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return
            try:
                target.sendall(data)
            except OSError:
                return


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset, as a server that went away does."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)  # wakes a thread of ours blocked reading it
    except OSError:
        pass
    sock.close()
