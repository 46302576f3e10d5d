"""Workers share their loads (api/siblings.py): a worker clearly busier than the others asks
its clients to reconnect, so the kernel can hand the connection to another worker."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys

from matchning.api import siblings
from matchning.api.concurrency import ConcurrencyLimit


def _array(workers: int):
    return multiprocessing.get_context("spawn").Array("q", 2 * workers)


def test_each_worker_takes_a_place_and_reports_its_load():
    loads = _array(3)
    me = siblings.Siblings(loads)
    assert loads[0] == os.getpid()
    me.report(7)
    assert loads[1] == 7


def test_busier_than_the_others_by_more_than_the_margin():
    loads = _array(3)
    me = siblings.Siblings(loads)
    loads[2:6] = [1, 4, 1, 6]  # two other workers, loads 4 and 6: mean 5
    assert not me.crowded(5 + siblings.MARGIN)
    assert me.crowded(5 + siblings.MARGIN + 1)
    assert not me.crowded(siblings.MARGIN)  # a light load never sends anyone away


def test_alone_it_never_sends_anyone_away():
    me = siblings.Siblings(_array(3))
    assert not me.crowded(100)


def test_a_dead_workers_place_is_taken_over_and_a_full_array_leaves_a_worker_out():
    loads = _array(2)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    loads[0:2] = [int(dead.stdout), 9]  # its load is stale
    loads[2:4] = [os.getppid(), 3]  # alive
    me = siblings.Siblings(loads)
    assert loads[0] == os.getpid() and loads[1] == 0
    late = siblings.Siblings(loads)  # both places held by live processes
    late.report(50)
    assert not late.crowded(50) and loads[1] == 0 and loads[3] == 3
    assert me.crowded(3 + siblings.MARGIN + 1)


def _response_headers(crowded: bool) -> list[tuple[bytes, bytes]]:
    class Fake:
        reported: list[int] = []

        def report(self, load: int) -> None:
            self.reported.append(load)

        def crowded(self, load: int) -> bool:
            return crowded

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    fake = Fake()
    old = siblings._current
    siblings._current = fake  # type: ignore[assignment]
    try:
        asyncio.run(ConcurrencyLimit(app, limit=2)(
            {"type": "http", "path": "/api/v1/x", "method": "GET", "headers": []},
            receive, send))
    finally:
        siblings._current = old
    assert fake.reported == [1, 0]
    return sent[0]["headers"]


def test_a_crowded_worker_answers_with_connection_close():
    assert (b"connection", b"close") in _response_headers(crowded=True)
    assert (b"connection", b"close") not in _response_headers(crowded=False)
