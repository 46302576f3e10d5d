"""The reverse direction: the best waiting participants of a unit for one slot.

    .venv/bin/python benchmarks/candidates.py \
        --database-url sqlite:////tmp/big/data/matchning.sqlite3 \
        --models-dir /tmp/big/models --slots 200 --today 2026-11-01

For random open slots, a consultant of the unit that covers the slot's kommun asks
`services.recommendations.candidates` (rules for every waiting participant of the unit,
features, the model, reasons, one audit row per listed participant; committed). Prints
p50 / p95 / p99 with the number of waiting participants per unit, and writes JSON to --out.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select
from world import open_world, parser, percentiles  # beside this script

from matchning.domain.vocab import ParticipantStatus, Role
from matchning.services import recommendations, users
from matchning.services.context import Context
from matchning.storage.db import unit_of_work
from matchning.storage.tables import ParticipantRow, SlotRow, UnitRow, UserRow


def main() -> None:
    ap = parser(__doc__, "reports/candidates.json")
    ap.add_argument("--slots", type=int, default=200)
    args = ap.parse_args()
    world = open_world(args)
    engine, factory, settings, matcher = (world.engine, world.factory, world.settings,
                                          world.matcher)
    with factory() as session:
        units = session.execute(select(UnitRow.id, UnitRow.kommuner)).all()
        consultant = {u: session.scalars(select(UserRow).where(
            UserRow.unit_id == u, UserRow.role == Role.consultant.value)).first()
            for u, _ in units}
        unit_of = {k: u for u, ks in units for k in ks}
        slots = session.execute(select(SlotRow.id, SlotRow.kommunkod).where(
            SlotRow.status == "open")).all()
        per_unit = {u: session.query(ParticipantRow).filter(
            ParticipantRow.unit_id == u,
            ParticipantRow.status == ParticipantStatus.waiting.value).count() for u, _ in units}
    rng = np.random.default_rng(args.seed)
    pool = [(s, unit_of[k]) for s, k in slots if k in unit_of and consultant[unit_of[k]]]
    picks = [pool[i] for i in rng.choice(len(pool), size=min(args.slots, len(pool)),
                                         replace=False)]

    def ask(slot_id: int, unit_id: int):
        with unit_of_work(factory) as session:
            ctx = Context(session=session, principal=users.principal_of(consultant[unit_id]),
                          settings=settings, matcher=matcher)
            return recommendations.candidates(ctx, slot_id, args.k)

    t = time.perf_counter()
    ask(*picks[0])  # loads the model
    warm_s = time.perf_counter() - t
    ms, feasible = [], []
    for slot_id, unit_id in picks:
        t = time.perf_counter()
        out = ask(slot_id, unit_id)
        ms.append((time.perf_counter() - t) * 1000)
        feasible.append(out.feasible)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}", "database": engine.dialect.name,
        "slots_asked": len(picks), "waiting_per_unit": {
            "mean": round(float(np.mean(list(per_unit.values()))), 1),
            "max": int(max(per_unit.values()))},
        "feasible_participants": {"mean": round(float(np.mean(feasible)), 1)},
        "first_call_s": round(warm_s, 2), "candidates_ms": percentiles(ms),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    c = result["candidates_ms"]
    print(f"{'waiting/unit':<14}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    print(f"{result['waiting_per_unit']['mean']:<14}{len(picks):>7}{c['p50']:>9}{c['p95']:>9}"
          f"{c['p99']:>9}")
    print(f"feasible participants per slot {result['feasible_participants']['mean']} on "
          f"average; JSON: {args.out}")
    engine.dispose()


if __name__ == "__main__":
    main()
