"""A big file's rows checked in a second process while the first writes.

The import of a big file of employers, slots or participants is Python work per row (cells,
the record, the service's checks and mapping) and the database's work of storing the rows;
with two cores the two can overlap. Before the rows are gone through, the main process looks
up what each row refers to (`rows.Refs`: units, consultants, employers; the same for a row
whatever came before it) and then forks a worker. The worker inherits the rows, their
references and the reference data, and makes for each row what the row adds to the pending
rows should it be new (`rows.plan_*_ahead`): only what depends on the row alone. It sends
these back chunk by chunk, in order. The main process goes through the rows as without the
worker, in order, with everything that depends on the database or on the rows before (a
repeated id, a stored row to update, the report), and takes a row's entries from the worker
instead of making them itself; meanwhile it writes the rows checked so far
(`bulk.write_ahead`). Whenever it would wait for the worker, it makes the entries of the last
chunk nobody has begun itself (the worker stops where the main process began), so the two
share the work whichever is the faster. A row the worker could not make (any problem at all,
or anything it would need the database for) the main process makes itself, so the report is
the one-process report: the same problems, lines and order. Should the worker die, the main
process makes the remaining rows itself.

The worker never touches the database: its stand-in for the session holds the rows the file
refers to, by primary key, and refuses anything else; the inherited session's rows are
detached first, so reading an attribute not loaded fails instead of querying through the
parent's connection. It is forked, so it is used only where forking is safe: the platform has
'fork' and the process runs no other thread (the CLI; a threaded server would import in one
process). `tests/test_import_parallel.py` holds the two ways to the same rows and reports.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from matchning.config import Settings
from matchning.importer.bulk import Ready
from matchning.importer.csvread import CsvRow
from matchning.importer.rows import Refs
from matchning.importer.state import FileState
from matchning.services.context import Context

CHUNK = 2_000  # rows per message from the worker

RefsOf = Callable[[Context, CsvRow, FileState], Refs]
PlanAhead = Callable[[Context, CsvRow, FileState, Refs], Ready | None]
Chunk = Iterator[tuple[CsvRow, Refs, Ready | None]]


def wanted(settings: Settings, rows: int) -> bool:
    """Whether a file of `rows` rows is checked in a second process."""
    least = settings.import_parallel_rows
    return (least > 0 and rows >= least and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


class _Snapshot:
    """The worker's stand-in for the session: `get` of the rows the file refers to. Anything
    else raises, and the row is left to the main process."""

    def __init__(self, rows: dict[tuple[type, Any], Any]) -> None:
        self._rows = rows

    def get(self, table: type, key: Any) -> Any:
        return self._rows[(table, key)]


class Ahead:
    """The worker of one file; `chunks` gives the rows with their references and entries."""

    def __init__(self, ctx: Context, rows: Sequence[CsvRow], state: FileState,
                 refs_of: RefsOf, plan: PlanAhead) -> None:
        self.rows = rows
        memo: dict[tuple[str, ...], Refs] = {}
        self.refs = [_refs(ctx, row, state, refs_of, memo) for row in rows]
        found = {(type(r), r.id): r for refs in memo.values() for r in refs.found
                 if r is not None}
        self._ctx, self._state, self._plan = ctx, state, plan
        self._got: dict[int, list[Ready | None]] = {}  # chunks made, by index
        fork = multiprocessing.get_context("fork")
        # The worker makes the chunks before this index, from the first on; this process
        # lowers it as it makes the last ones itself while it waits (see `_take`).
        self._end = fork.Value("q", -(-len(rows) // CHUNK), lock=False)
        reader, writer = fork.Pipe(duplex=False)
        self._worker = fork.Process(
            target=_work, args=(writer, ctx, found, rows, self.refs, state, plan, self._end),
            daemon=True, name="matchning-import-check")
        self._results: Connection | None = reader
        try:
            self._worker.start()
        except OSError:  # no process to be had (a limit): every row is made here
            reader.close()
            self._results = None
        writer.close()  # the worker's end is then its own: its exit ends the pipe

    def chunks(self) -> Iterator[Chunk]:
        for index, start in enumerate(range(0, len(self.rows), CHUNK)):
            rows = self.rows[start:start + CHUNK]
            yield zip(rows, self.refs[start:start + CHUNK], self._take(index, len(rows)),
                      strict=True)

    def _take(self, index: int, size: int) -> list[Ready | None]:
        """The chunk's entries. While the worker has not sent it, this process makes the
        last chunk nobody has begun, rather than wait: the two processes share the work
        whichever is the faster. (Should the worker have begun that chunk all the same, it
        is made twice and the worker's is dropped.)"""
        while index not in self._got:
            if self._results is None:  # the worker died: the rest is made row by row here
                return [None] * size
            last = self._end.value - 1
            if not self._results.poll() and last > index:
                self._end.value = last
                self._got[last] = self._make(last)
            else:
                self._receive(index)
        return self._got.pop(index)

    def _receive(self, index: int) -> None:
        try:
            got, ready = self._results.recv()  # type: ignore[union-attr]
        except (EOFError, OSError):
            self._results = None
            return
        if got >= index and got not in self._got:  # else made here too
            self._got[got] = ready

    def _make(self, index: int) -> list[Ready | None]:
        start = index * CHUNK
        return [_ready(self._plan, self._ctx, row, self._state, refs) for row, refs in
                zip(self.rows[start:start + CHUNK], self.refs[start:start + CHUNK],
                    strict=True)]

    def close(self) -> None:
        if self._worker.pid is None:  # never started
            return
        if self._worker.is_alive():
            self._worker.terminate()
        self._worker.join()
        if self._results is not None:
            self._results.close()


def _refs(ctx: Context, row: CsvRow, state: FileState, refs_of: RefsOf,
          memo: dict[tuple[str, ...], Refs]) -> Refs:
    # Rows naming the same ids share their references (most rows of a file name a few); the
    # key: the cells the `rows.*_refs` read.
    key = tuple(row.cells.get(c, "") for c in ("unit", "consultant", "employer"))
    refs = memo.get(key)
    if refs is None:
        refs = memo[key] = refs_of(ctx, row, state)
    return refs


def _work(results: Connection, ctx: Context, found: dict[tuple[type, Any], Any],
          rows: Sequence[CsvRow], refs: list[Refs], state: FileState, plan: PlanAhead,
          end: Any) -> None:
    ctx.session.expunge_all()  # the rows inherited: detached, they can never query
    own = replace(ctx, session=_Snapshot(found))
    # A thread sends while the rows after are made: the worker runs ahead of the main
    # process by as many chunks as it likes.
    outbox: queue.SimpleQueue[tuple[int, list[Ready | None]] | None] = queue.SimpleQueue()
    sender = threading.Thread(target=_send, args=(outbox, results))
    sender.start()
    for index, start in enumerate(range(0, len(rows), CHUNK)):
        if index >= end.value:  # the main process makes the rest
            break
        outbox.put((index, [_ready(plan, own, row, state, r) for row, r in
                            zip(rows[start:start + CHUNK], refs[start:start + CHUNK],
                                strict=True)]))
    outbox.put(None)
    sender.join()


def _send(outbox: queue.SimpleQueue[tuple[int, list[Ready | None]] | None],
          results: Connection) -> None:
    while (item := outbox.get()) is not None:
        results.send(item)
    results.close()


def _ready(plan: PlanAhead, ctx: Context, row: CsvRow, state: FileState, refs: Refs
           ) -> Ready | None:
    try:
        return plan(ctx, row, state, refs)
    except Exception:  # any problem: the main process makes the row and reports it
        return None
