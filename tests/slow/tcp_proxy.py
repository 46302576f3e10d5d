"""A loopback TCP proxy the slow tests control: cut every connection to the database and
restore it, or cut at the moment a given statement goes by (a fault mid-request)."""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress


class TcpProxy:
    """127.0.0.1:<port> → target. `cut()` closes every connection and refuses new ones (each
    attempt is accepted and reset at once, and counted); `restore()` forwards again.

    `trip_on(pattern, forward=...)` arms a one-shot cut: the first client→server chunk that
    contains `pattern` (e.g. b"COMMIT") cuts everything, either before the chunk reaches the
    server (`forward=False`: the statement never runs) or just after (`forward=True`: it runs,
    but its answer never comes back)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._clients: set[socket.socket] = set()
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._trip: tuple[bytes, bool] | None = None
        self._swallow: socket.socket | None = None  # its next answer is dropped, then cut
        self.tripped = threading.Event()
        self.refused = 0
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name="tcp-proxy")
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut.is_set():
                _reset(client)
                with self._lock:
                    self.refused += 1
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            client.settimeout(None)
            with self._lock:
                self.accepted += 1
                self._socks.update((client, upstream))
                self._clients.add(client)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        outgoing = src in self._clients
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not outgoing and src is self._swallow:
                    # The server answered the tripping statement: it ran; the client must
                    # never hear so.
                    self._swallow = None
                    self.cut()
                    self.tripped.set()
                    break
                trip = self._trip if outgoing else None
                if trip is not None and trip[0] in data:
                    with self._lock:
                        mine = self._trip is trip
                        self._trip = None
                    if mine and trip[1]:
                        self._swallow = dst
                        dst.sendall(data)
                        continue
                    if mine:
                        self.cut()
                        self.tripped.set()
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def trip_on(self, pattern: bytes, *, forward: bool) -> None:
        self.tripped.clear()
        with self._lock:
            self._trip = (pattern, forward)

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            socks, self._socks = list(self._socks), set()
            self._clients.clear()
        for s in socks:
            _reset(s)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        with suppress(OSError):
            self._listener.close()
        self._thread.join(timeout=5)


def _reset(sock: socket.socket) -> None:
    """Close with RST: the peer sees the connection die, not a polite end."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()
