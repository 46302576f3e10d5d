"""One listening socket per uvicorn worker (SO_REUSEPORT), so the kernel spreads connections.

With uvicorn's own multi-worker start every worker accepts from one shared socket, and the
first worker to wake takes a whole burst of connections: 32 keep-alive connections opened at
once ended up 28, 2 and 2 over three workers, and the crowded worker's clients waited up to
seconds while the others had spare time. With a socket of its own per worker, bound with
SO_REUSEPORT, the kernel hands each new connection to one of the workers by a hash of its
addresses, which spreads them about evenly.

uvicorn's supervisor (restarts, health checks, signals) is kept: it pickles the sockets it is
given into each worker it spawns, and `ReusePortListener` unpickles as a new socket of the
worker's own.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from matchning.api import siblings

REUSE_PORT = hasattr(socket, "SO_REUSEPORT")


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) with SO_REUSEPORT, not yet listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@dataclass(frozen=True)
class ReusePortListener:
    """Stands in for a socket in uvicorn's supervisor: pickled into a worker, it becomes a new
    socket bound there (a listening socket shared between workers is what is avoided). It
    also carries the array in which the workers share their loads (api/siblings.py)."""

    host: str
    port: int
    loads: Any = None  # multiprocessing.Array of 2 x workers ints

    def __reduce__(self):
        return _in_worker, (self.host, self.port, self.loads)


def _in_worker(host: str, port: int, loads: Any) -> socket.socket:
    if loads is not None:
        siblings.join(loads)
    return bind(host, port)
