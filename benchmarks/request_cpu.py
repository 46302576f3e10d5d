"""CPU per recommendations request through the whole app, without sockets or other processes.

    .venv/bin/python benchmarks/request_cpu.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1/bench6 \
        --models-dir /tmp/bench/s10k/models --requests 600

Builds the app as `matchning serve` does (`create_app`, its lifespan), issues one consultant
token per unit, and sends the requests one after the other through httpx's ASGI transport:
the middleware, the routing, the token check, the service, the audit write, the commit and
the JSON. The first --warmup requests (model load, catalogue encoding) are not counted. Prints
the wall and CPU milliseconds per request; a machine's other load moves the wall figure far
more than the CPU figure. `--profile FILE` writes a cProfile of the counted requests (the
main thread only: the route runs in the thread pool, so py-spy is the better profiler). The
figure to compare between two versions of the code on one machine: the HTTP load test
(`http_load.py`) adds concurrency and the server's own CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from server import API, consultant_tokens  # beside this script
from sqlalchemy import select

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.vocab import ParticipantStatus
from matchning.storage.db import make_engine, make_session_factory
from matchning.storage.tables import ParticipantRow


async def run(args: argparse.Namespace) -> dict:
    settings = Settings(database_url=args.database_url, models_dir=args.models_dir)
    engine = make_engine(args.database_url)
    factory = make_session_factory(engine)
    tokens = consultant_tokens(factory, settings)
    with factory() as s:
        people = s.execute(select(ParticipantRow.id, ParticipantRow.unit_id).where(
            ParticipantRow.status == ParticipantStatus.waiting.value)).all()
    engine.dispose()
    rng = random.Random(args.seed)
    chosen = rng.sample([p for p in people if p[1] in tokens],
                        min(args.requests + args.warmup, len(people)))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            async def one(pid: int, unit: int) -> None:
                r = await client.get(f"{API}/participants/{pid}/recommendations?k=10",
                                     headers={"Authorization": f"Bearer {tokens[unit]}"})
                if r.status_code != 200:
                    raise SystemExit(f"{r.status_code}: {r.text[:300]}")

            for pid, unit in chosen[:args.warmup]:
                await one(pid, unit)
            counted = chosen[args.warmup:]
            profiler = None
            if args.profile:
                import cProfile
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
            wall, cpu = time.perf_counter(), time.process_time()
            for pid, unit in counted:
                await one(pid, unit)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
    n = max(len(counted), 1)
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(), "load_average_after": os.getloadavg(),
            "database": args.database_url.split(":")[0], "requests": len(counted),
            "wall_ms_per_request": round(wall * 1000 / n, 2),
            "cpu_ms_per_request": round(cpu * 1000 / n, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--models-dir", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("reports/request_cpu.json"))
    args = ap.parse_args()
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"{result['requests']} requests ({result['database']}): "
          f"{result['wall_ms_per_request']} ms wall, {result['cpu_ms_per_request']} ms CPU "
          f"per request; JSON: {args.out}")


if __name__ == "__main__":
    main()
