"""Each worker's own listening socket (cli/listeners.py): what uvicorn's supervisor pickles
into a worker becomes a new socket there, and several of them on one port share the
connections between them instead of one taking them all."""

from __future__ import annotations

import pickle
import selectors
import socket

import pytest

from matchning.cli import listeners

pytestmark = pytest.mark.skipif(not listeners.REUSE_PORT, reason="no SO_REUSEPORT here")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_pickled_listener_is_a_new_socket_of_its_own():
    port = _free_port()
    spec = listeners.ReusePortListener("127.0.0.1", port)
    first, second = pickle.loads(pickle.dumps(spec)), pickle.loads(pickle.dumps(spec))
    try:
        assert isinstance(first, socket.socket) and first.fileno() != second.fileno()
        assert first.getsockname() == second.getsockname() == ("127.0.0.1", port)
        assert first.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
    finally:
        first.close()
        second.close()


def test_a_port_taken_without_reuse_port_is_refused():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            listeners.bind("127.0.0.1", taken.getsockname()[1])


def test_connections_spread_over_the_listening_sockets():
    port = _free_port()
    socks = [listeners.bind("127.0.0.1", port) for _ in range(3)]
    clients = []
    try:
        for s in socks:
            s.listen(64)
            s.setblocking(False)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(48)]
        got = [0] * len(socks)
        sel = selectors.DefaultSelector()
        for i, s in enumerate(socks):
            sel.register(s, selectors.EVENT_READ, i)
        while sum(got) < len(clients):
            events = sel.select(timeout=5)
            assert events, f"only {sum(got)} of {len(clients)} connections arrived"
            for key, _ in events:
                try:
                    conn, _ = key.fileobj.accept()
                except BlockingIOError:
                    continue
                conn.close()
                got[key.data] += 1
        # One shared socket gives a burst to whoever wakes first; here each socket gets a
        # share (all 48 on one or two of three sockets: odds below 1 in 10^7).
        assert all(n > 0 for n in got), got
        assert max(got) < 40, got
    finally:
        for c in clients:
            c.close()
        for s in socks:
            s.close()
