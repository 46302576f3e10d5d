"""In-process suggestion latency for one participant, everything included, beside the floor.

    .venv/bin/python benchmarks/latency.py \
        --database-url sqlite:////tmp/big/data/matchning.sqlite3 \
        --models-dir /tmp/big/models --participants 1000 --today 2026-11-01

The database holds a seeded demo world (`matchning demo ...`) with an active model
(`matchning train`). Each timed call is `services.recommendations.recommend` in its own unit
of work: the active-row check, rules over every open slot, features, both stages, reasons and
the audit row, committed. The floor is a bare numpy dot product and top 10 over as many slot
vectors (64 float32 each) as the catalogue holds (open and paused slots; the rules remove
the paused). Prints a table and writes JSON to --out.
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import UTC, datetime

import numpy as np
from world import open_world, parser, percentiles  # beside this script

from matchning.domain.principal import SYSTEM
from matchning.domain.vocab import ParticipantStatus
from matchning.services import recommendations
from matchning.services.context import Context
from matchning.storage.db import unit_of_work
from matchning.storage.repositories import history


def main() -> None:
    ap = parser(__doc__, "reports/latency.json")
    ap.add_argument("--participants", type=int, default=1000)
    args = ap.parse_args()

    world = open_world(args)
    engine, factory, settings, matcher = (world.engine, world.factory, world.settings,
                                          world.matcher)
    with factory() as session:
        people = [p.id for p in history.participant_rows(
            session, status=ParticipantStatus.waiting.value)]
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(people, size=min(args.participants, len(people)), replace=False)

    t = time.perf_counter()
    with unit_of_work(factory) as session:  # loads the model and encodes the catalogue
        ctx = Context(session=session, principal=SYSTEM, settings=settings, matcher=matcher)
        first = recommendations.recommend(ctx, int(chosen[0]), args.k)
    warm_s = time.perf_counter() - t
    open_slots = first.considered

    load_before = os.getloadavg()
    ms, cpu_ms, feasible = [], [], []
    for pid in chosen:
        t, c = time.perf_counter(), time.process_time()
        with unit_of_work(factory) as session:
            ctx = Context(session=session, principal=SYSTEM, settings=settings,
                          matcher=matcher)
            out = recommendations.recommend(ctx, int(pid), args.k)
        ms.append((time.perf_counter() - t) * 1000)
        cpu_ms.append((time.process_time() - c) * 1000)
        feasible.append(out.feasible)

    vectors = rng.standard_normal((open_slots, 64)).astype(np.float32)
    queries = rng.standard_normal((len(chosen), 64)).astype(np.float32)
    floor = []
    for q in queries:
        t = time.perf_counter()
        scores = vectors @ q
        top = np.argpartition(-scores, args.k)[:args.k]
        top[np.argsort(-scores[top])]
        floor.append((time.perf_counter() - t) * 1000)

    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(), "database": engine.dialect.name,
        "catalogue_slots": open_slots, "participants": len(chosen), "k": args.k,
        "first_call_s": round(warm_s, 2),
        "feasible_slots": {"mean": round(float(np.mean(feasible)), 1),
                           "max": int(np.max(feasible))},
        "suggest_ms": percentiles(ms), "suggest_cpu_ms": percentiles(cpu_ms),
        "load_average_before": load_before, "load_average": os.getloadavg(),
        "floor_ms": percentiles(floor),
    }
    result["ratio_p50"] = round(result["suggest_ms"]["p50"] / max(result["floor_ms"]["p50"],
                                                                  1e-6), 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    s, f = result["suggest_ms"], result["floor_ms"]
    print(f"{'slots':<14}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'floor p50':>11}{'ratio':>7}")
    print(f"{open_slots:<14}{len(chosen):>7}{s['p50']:>9}{s['p95']:>9}{s['p99']:>9}"
          f"{f['p50']:>11}{result['ratio_p50']:>7}")
    print(f"CPU per call: p50 {result['suggest_cpu_ms']['p50']} ms, p99 "
          f"{result['suggest_cpu_ms']['p99']} ms (load average {load_before[0]:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after)")
    print(f"first call (model load + catalogue) {warm_s:.2f} s; feasible slots per participant "
          f"{result['feasible_slots']['mean']} on average; JSON: {args.out}")
    engine.dispose()


if __name__ == "__main__":
    main()
