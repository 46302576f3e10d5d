"""`precompute` throughput: every waiting participant's top k, locally and on a Dask cluster.

    .venv/bin/python benchmarks/precompute.py \
        --database-url sqlite:////tmp/big/data/matchning.sqlite3 \
        --models-dir /tmp/big/models --today 2026-11-01 --workers 2

The database holds a seeded demo world (`matchning demo ...`) with an active model
(`matchning train`). Each run is `services.precompute.precompute` over every unit in its own
committed unit of work with a fresh Matcher, so it includes loading the model, encoding the
catalogue, reading profiles and histories, ranking and replacing the stored lists. Runs: in
this process; joblib's local backend with --workers processes; a `distributed.LocalCluster`
of --workers single-thread worker processes (its start-up is timed apart). Every run must store
exactly the rows of the first. Prints a table and writes JSON to --out.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from threadpoolctl import threadpool_limits
from world import open_world, parser  # beside this script

from matchning.domain.principal import SYSTEM
from matchning.services import precompute
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.storage.db import unit_of_work
from matchning.storage.tables import PrecomputedSuggestionRow as T


def stored_rows(factory) -> list[tuple]:
    with factory() as session:
        return [tuple(r) for r in session.execute(
            select(T.participant_id, T.rank, T.slot_id, T.score, T.distance_km)
            .order_by(T.participant_id, T.rank))]


def one_run(world, args, label: str, *, scheduler: str | None = None, n_jobs: int = 1
            ) -> dict[str, Any]:
    settings = world.settings.model_copy(update={"dask_scheduler": scheduler})
    started = time.perf_counter()
    with unit_of_work(world.factory) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=settings,
                      matcher=Matcher(settings.models_dir))
        result = precompute.precompute(ctx, k=args.k, n_jobs=n_jobs,
                                       chunk_size=args.chunk_size)
    wall = time.perf_counter() - started
    return {"run": label, "backend": result.backend, "participants": result.participants,
            "rows": result.rows, "wall_s": round(wall, 2),
            "ranking_s": round(result.seconds, 2),
            "participants_per_s": round(result.participants / wall, 1),
            "ranking_participants_per_s": round(result.participants / result.seconds, 1),
            "model_version": result.model_version}


def main() -> None:
    ap = parser(__doc__, "reports/precompute.json")
    ap.add_argument("--workers", type=int, default=2,
                    help="local processes and LocalCluster workers (one thread each)")
    ap.add_argument("--chunk-size", type=int, default=precompute.CHUNK_SIZE)
    ap.add_argument("--skip", nargs="*", default=[], choices=("inprocess", "local", "cluster"))
    args = ap.parse_args()
    world = open_world(args)

    runs: list[dict[str, Any]] = []
    reference: list[tuple] | None = None

    def record(run: dict[str, Any]) -> None:
        nonlocal reference
        rows = stored_rows(world.factory)
        if reference is None:
            reference = rows
        run["same_rows_as_first"] = rows == reference
        runs.append(run)
        print(f"  {run['run']}: {run['wall_s']} s", flush=True)

    cluster_start_s = None
    with threadpool_limits(limits=1):  # as the CLI: one BLAS/OpenMP thread per process
        if "inprocess" not in args.skip:
            record(one_run(world, args, "in this process"))
        if "local" not in args.skip:
            record(one_run(world, args, f"joblib loky x{args.workers}", n_jobs=args.workers))
        if "cluster" not in args.skip:
            from distributed import LocalCluster

            t = time.perf_counter()
            with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                cluster_start_s = round(time.perf_counter() - t, 2)
                record(one_run(world, args, f"LocalCluster {args.workers}x1",
                               scheduler=cluster.scheduler_address))

    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(), "database": world.engine.dialect.name,
        "k": args.k, "chunk_size": args.chunk_size, "workers": args.workers,
        "cluster_start_s": cluster_start_s, "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"{'run':<24}{'participants':>13}{'rows':>9}{'wall s':>9}{'part./s':>9}"
          f"{'ranking s':>11}{'part./s':>9}{'same':>6}")
    for r in runs:
        same = "yes" if r["same_rows_as_first"] else "NO"
        print(f"{r['run']:<24}{r['participants']:>13}{r['rows']:>9}{r['wall_s']:>9}"
              f"{r['participants_per_s']:>9}{r['ranking_s']:>11}"
              f"{r['ranking_participants_per_s']:>9}{same:>6}")
    print(f"wall: model load, catalogue, ranking and writes; ranking: after the catalogue. "
          f"LocalCluster start-up {cluster_start_s} s (not counted). JSON: {args.out}")
    world.engine.dispose()


if __name__ == "__main__":
    main()
