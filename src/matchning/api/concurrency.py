"""At most N requests of one worker in the app at a time; the others wait their turn, first
come first served.

A worker runs sync routes in a pool of 40 threads that share one GIL. With a dozen requests
in the pool at once, Python hands the GIL to whichever thread the OS wakes, not the one that
waited longest, so some requests waited many turns: at 32 connections over three workers the
slowest 1 % of suggestion lists took six times the median. Queued in order and let in a few
at a time, each request waits about as long as the others. A request that waits holds no
thread and no database connection, so the wedge of docs/scale-out.md (every connection held
by a request that waits for a thread) cannot form either. The health checks never wait.
Beside its siblings, a clearly busier worker asks clients to reconnect (api/siblings.py).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from matchning.api import siblings

PROBES = ("/health", "/ready")
CLOSE = (b"connection", b"close")


class ConcurrencyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None  # made in the worker's own event loop
        self._load = 0  # requests in the app or waiting for it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        others = siblings.current()
        self._moved(others, +1)
        try:
            async with self._slots:  # asyncio's semaphore wakes its waiters in order
                await self.app(scope, receive, send if others is None else
                               self._rebalancing(send, others))
        finally:
            self._moved(others, -1)

    def _moved(self, others: siblings.Siblings | None, by: int) -> None:
        self._load += by
        if others is not None:
            others.report(self._load)

    def _rebalancing(self, send: Send, others: siblings.Siblings) -> Send:
        """`send`, asking the client to reconnect when this worker is clearly busier than
        its siblings (api/siblings.py)."""
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and others.crowded(self._load):
                message = {**message, "headers": [*message.get("headers", []), CLOSE]}
            await send(message)
        return sending
