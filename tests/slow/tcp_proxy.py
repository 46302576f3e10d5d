"""A loopback TCP proxy the slow tests control: cut every connection to the database and
restore it, or cut at the moment a given statement goes by (a fault mid-request)."""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress


class _Link:
    """One proxied connection: the app's socket, the server's, and how many pumps still use
    them. Closed by the last pump to stop, never while the other still reads or writes: a
    closed descriptor can be reused at once by the next connection, which a late call with
    the old number would then hit."""

    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self.pumps = 2

    def shut(self, *, abort: bool) -> None:
        """Stop both directions (wakes both pumps); `abort`: the close will be a reset."""
        for s in (self.client, self.upstream):
            if abort:
                with suppress(OSError):
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        for s in (self.client, self.upstream):
            with suppress(OSError):
                s.close()


class TcpProxy:
    """127.0.0.1:<port> → target. `cut()` closes every connection and refuses new ones (each
    attempt is accepted and reset at once, and counted); `restore()` forwards again.

    `trip_on(pattern, forward=...)` arms a one-shot cut: the first client→server chunk that
    contains `pattern` (e.g. b"COMMIT") cuts everything, either before the chunk reaches the
    server (`forward=False`: the statement never runs) or just after (`forward=True`: it runs,
    but its answer never comes back). `tripped` is set before the cut, so it is already set
    when the client hears of the cut."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        # Guards _links and every socket in them: a socket is shut down or closed only with
        # it held, so `cut()` never touches a closed (possibly reused) descriptor.
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._trip: tuple[bytes, bool] | None = None
        self._swallow: _Link | None = None  # its next answer is dropped, then cut
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
                self._refuse(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            client.settimeout(None)
            link = _Link(client, upstream)
            with self._lock:
                # A cut while the upstream connection was being made refuses this one too.
                refused = self._cut.is_set()
                if not refused:
                    self.accepted += 1
                    self._links.add(link)
            if refused:
                _reset(upstream)
                self._refuse(client)
                continue
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(link, src, dst), daemon=True).start()

    def _refuse(self, client: socket.socket) -> None:
        _reset(client)
        with self._lock:
            self.refused += 1

    def _pump(self, link: _Link, src: socket.socket, dst: socket.socket) -> None:
        outgoing = src is link.client
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not outgoing and self._swallow is link:
                    # The server answered the tripping statement: it ran; the client must
                    # never hear so.
                    self._swallow = None
                    self._trip_cut()
                    break
                trip = self._trip if outgoing else None
                if trip is not None and trip[0] in data:
                    with self._lock:
                        mine = self._trip is trip
                        self._trip = None
                    if mine and trip[1]:
                        self._swallow = link
                        dst.sendall(data)
                        continue
                    if mine:
                        self._trip_cut()
                        break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                link.pumps -= 1
                if link.pumps:
                    link.shut(abort=False)  # the other direction ends too
                else:
                    self._links.discard(link)
                    link.close()

    def _trip_cut(self) -> None:
        # Flag first: the cut makes the app answer at once, and the test reads the flag as
        # soon as it has that answer, possibly before cut() has returned here.
        self.tripped.set()
        self.cut()

    def trip_on(self, pattern: bytes, *, forward: bool) -> None:
        self.tripped.clear()
        with self._lock:
            self._trip = (pattern, forward)

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            for link in self._links:
                link.shut(abort=True)  # each link's last pump then closes it, with a reset

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
