"""At most N requests of one worker in the app at a time; the others wait their turn, first
come first served.

A worker runs sync routes in a pool of 40 threads that share one GIL. With a dozen requests
in the pool at once, Python hands the GIL to whichever thread the OS wakes, not the one that
waited longest, so some requests waited many turns: at 32 connections over three workers the
slowest 1 % of suggestion lists took six times the median. Queued in order and let in a few
at a time, each request waits about as long as the others. A request that waits holds no
thread and no database connection, so the wedge of docs/scale-out.md (every connection held
by a request that waits for a thread) cannot form either. The health checks never wait.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

PROBES = ("/health", "/ready")


class ConcurrencyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None  # made in the worker's own event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:  # asyncio's semaphore wakes its waiters in order
            await self.app(scope, receive, send)
