"""How busy this worker is beside its sibling workers, from a small array they share.

Each worker accepts on a socket of its own (cli/listeners.py) and the kernel hands a new
connection to one of them by a hash of its addresses, so keep-alive connections can end up
unevenly spread: 15, 11 and 6 of 32 over three workers, with the first worker's clients
waiting longest. Every worker writes its load (requests in the app or waiting for it) into the
shared array; a worker that finds itself clearly busier than the mean of the others asks the
client to reconnect ("Connection: close" on the response), and the new connection lands by the
hash again, most likely elsewhere. The spread then stays even without a load balancer.

The array is made by `matchning serve` with several workers; elsewhere (one worker, tests, the
CLI) there are no siblings and nothing is shared.
"""

from __future__ import annotations

import os
from typing import Any

MARGIN = 2  # requests above the others' mean before a client is asked to reconnect


class Siblings:
    """The shared array: a (pid, load) pair per worker place."""

    def __init__(self, array: Any) -> None:
        self._array = array
        self._place = self._claim()

    def _claim(self) -> int | None:
        # One place per worker: a worker started in place of one that died takes its place
        # over (and its stale load with it). None: no place free, this worker just does not
        # take part (an old worker not yet gone).
        with self._array.get_lock():
            pids = self._array[0::2]
            for place, pid in enumerate(pids):
                if pid == 0 or not _alive(pid):
                    self._array[2 * place] = os.getpid()
                    self._array[2 * place + 1] = 0
                    return place
        return None

    def report(self, load: int) -> None:
        if self._place is not None:
            self._array[2 * self._place + 1] = load

    def crowded(self, load: int) -> bool:
        """Whether `load` is more than MARGIN above the mean load of the other workers."""
        if self._place is None or load <= MARGIN:
            return False
        values = self._array[:]
        others = [values[i + 1] for i in range(0, len(values), 2)
                  if i // 2 != self._place and values[i] != 0]
        return bool(others) and load > sum(others) / len(others) + MARGIN


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours to take over
        return True
    return True


_current: Siblings | None = None


def join(array: Any) -> None:
    """Called in a worker as it starts (cli/listeners.py)."""
    global _current
    _current = Siblings(array)


def current() -> Siblings | None:
    return _current
