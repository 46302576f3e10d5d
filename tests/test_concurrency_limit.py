"""A worker lets N requests into the app at a time and queues the rest in arrival order
(api/concurrency.py); the health checks never wait."""

from __future__ import annotations

import asyncio

import pytest

from matchning.api.concurrency import ConcurrencyLimit
from matchning.config import Settings


class _App:
    """An ASGI app whose requests stay inside until the test lets them out."""

    def __init__(self) -> None:
        self.inside: list[str] = []
        self.entered: list[str] = []
        self.most = 0
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, scope, receive, send) -> None:
        name = scope["path"]
        self.inside.append(name)
        self.entered.append(name)
        self.most = max(self.most, len(self.inside))
        await self.release.setdefault(name, asyncio.Event()).wait()
        self.inside.remove(name)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _scope(path: str) -> dict:
    return {"type": "http", "path": path, "method": "GET", "headers": []}


async def _noop_receive():
    return {"type": "http.request", "body": b""}


async def _sent(message) -> None:
    pass


async def _run(limit: int, paths: list[str], probes: list[str] = ()):  # type: ignore[assignment]
    app = _App()
    for p in [*paths, *probes]:
        app.release[p] = asyncio.Event()
    guarded = ConcurrencyLimit(app, limit=limit)
    tasks = []
    for p in paths:
        tasks.append(asyncio.create_task(guarded(_scope(p), _noop_receive, _sent)))
        await asyncio.sleep(0)  # arrive in this order
    await asyncio.sleep(0.01)
    first_in = list(app.entered)
    probe_tasks = [asyncio.create_task(guarded(_scope(p), _noop_receive, _sent))
                   for p in probes]
    await asyncio.sleep(0.01)
    probes_in = [p for p in probes if p in app.entered]
    for p in probes:
        app.release[p].set()
    for p in paths:  # let them out one at a time
        app.release[p].set()
        await asyncio.sleep(0.005)
    await asyncio.gather(*tasks, *probe_tasks)
    return app, first_in, probes_in


def test_at_most_n_inside_and_the_rest_in_order():
    paths = [f"/api/v1/r{i}" for i in range(9)]
    app, first_in, _ = asyncio.run(_run(2, paths))
    assert first_in == paths[:2]
    assert app.most == 2
    assert app.entered == paths  # first come, first served


def test_health_checks_never_wait():
    paths = [f"/api/v1/r{i}" for i in range(3)]
    _, first_in, probes_in = asyncio.run(_run(1, paths, ["/health", "/ready"]))
    assert first_in == paths[:1]
    assert probes_in == ["/health", "/ready"]  # in while the one slot was taken


def test_zero_is_no_limit():
    paths = [f"/api/v1/r{i}" for i in range(6)]
    app, first_in, _ = asyncio.run(_run(0, paths))
    assert first_in == paths and app.most == 6


def test_the_app_limits_as_the_setting_says(tmp_path):
    from matchning.api.app import create_app

    settings = Settings(environment="test", data_dir=tmp_path, secret_key="k" * 16,
                        worker_concurrency=3)
    limits = [m.kwargs for m in create_app(settings=settings).user_middleware
              if m.cls is ConcurrencyLimit]
    assert limits == [{"limit": 3}]
    assert Settings(environment="test").worker_concurrency == 2


@pytest.mark.parametrize("value", [-1, "many"])
def test_the_setting_refuses_what_is_not_a_count(value):
    with pytest.raises(ValueError):
        Settings(worker_concurrency=value)
