"""Run one pure function over chunks of work, on this machine or on a Dask cluster.

The same joblib code serves both: joblib's local backend (loky processes, or plain in-process
calls when n_jobs is 1) by default, and joblib's Dask backend when a scheduler address is
given. On Dask the large arguments every chunk shares (model, slot catalogue, reference data)
are scattered to the workers once per runner; loky pickles them again for every chunk, so
there a runner asks for one chunk per worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from joblib import Parallel, delayed, effective_n_jobs, parallel_config

from matchning.errors import ServiceUnavailable

__all__ = ["ChunkRunner", "chunk_runner"]

log = logging.getLogger("matchning.batch")
CONNECT_TIMEOUT = 10  # seconds to reach the scheduler, and to wait for a first worker
CHUNKS_PER_WORKER = 4
MIN_CHUNK = 25  # a task has a fixed cost of sending and scheduling


@dataclass
class ChunkRunner:
    """Calls fn(*shared, *chunk) for chunks, where the runner's backend says."""

    shared: list[Any]
    workers: int   # calls that can run at once
    backend: str   # for reports: "lokal", "lokal xN" or "dask <address>"
    resends_shared: bool = False  # loky pickles the shared objects again for every chunk

    def chunk_size(self, items: int, largest: int) -> int:
        """Items per chunk for `items` in all. Where every chunk re-sends the shared objects,
        one chunk per worker (measured: chunks of 200 made 2 loky processes slower than one
        process); on Dask about CHUNKS_PER_WORKER per worker, so that a slow chunk does not
        hold up the run, at most `largest` and at least MIN_CHUNK; in one process, one."""
        if self.workers == 1:
            return max(items, 1)
        if self.resends_shared:
            return max(-(-items // self.workers), 1)
        return min(largest, max(MIN_CHUNK, -(-items // (self.workers * CHUNKS_PER_WORKER))))

    def __call__(self, fn: Callable[..., Any], chunks: Sequence[Sequence[Any]]) -> list[Any]:
        """[fn(*shared, *chunk) for chunk in chunks], in the order of `chunks`."""
        if not chunks:
            return []
        # The shared objects themselves go into every call: the Dask backend swaps each for
        # its scattered copy by identity.
        return Parallel()(delayed(fn)(*self.shared, *chunk) for chunk in chunks)


@contextmanager
def chunk_runner(shared: Sequence[Any], *, scheduler: str | None = None, n_jobs: int = 1
                 ) -> Iterator[ChunkRunner]:
    """A runner on the Dask cluster of `scheduler` (its workers decide the parallelism), or
    without one on joblib's local backend with n_jobs processes (-1: every core). The function
    it runs must be importable by the workers and must not touch a database."""
    shared = list(shared)
    with ExitStack() as stack:
        if scheduler is None:
            stack.enter_context(parallel_config(backend="loky", n_jobs=n_jobs))
            workers = effective_n_jobs(n_jobs)
            yield ChunkRunner(shared, workers, "lokal" if workers == 1 else f"lokal x{workers}",
                              resends_shared=True)
            return
        client = stack.enter_context(_client(scheduler))
        # One copy of each shared object per worker, sent once for every call of the runner.
        stack.enter_context(parallel_config(backend="dask", n_jobs=-1, scatter=shared))
        yield ChunkRunner(shared, sum(client.ncores().values()), f"dask {scheduler}")


@contextmanager
def _client(scheduler: str) -> Iterator[Any]:
    """A Dask client of `scheduler` with at least one worker, closed afterwards."""
    from distributed import Client  # heavy import: only when a cluster is used

    try:
        client = Client(scheduler, set_as_default=True, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise ServiceUnavailable(f"Dask-schemaläggaren {scheduler} går inte att nå "
                                 f"(MATCHNING_DASK_SCHEDULER): {exc}") from exc
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError as exc:
            raise ServiceUnavailable(f"Dask-klustret {scheduler} har inga arbetare.") from exc
        if sum(client.ncores().values()) == 1:
            # joblib treats one worker thread as "no parallelism" and runs every call here.
            log.warning("the Dask cluster at %s has one worker thread: joblib runs the chunks "
                        "in this process instead", scheduler)
        yield client
