"""The reverse direction: the best waiting participants of a unit for one slot.

    .venv/bin/python benchmarks/candidates.py \
        --database-url sqlite:////tmp/big/matchning.sqlite3 \
        --models-dir /tmp/big/models --slots 1000 --today 2026-11-01

For random open slots, a consultant of the unit that covers the slot's kommun asks
`services.recommendations.candidates` (the unit's cached participant matrix, the rules for the
participants within reach of the slot, features, the model, reasons, one audit row per listed
participant; committed). Every unit's matrix is built first, as a worker's first requests
would (timed apart: "first call per unit"); then the timed calls; then "after a write": a
unit's participant counter is bumped (as any participant write does) and the next request,
which rebuilds that unit's matrix, is timed. Prints p50 / p95 / p99 with the participants per
unit, and writes JSON to --out.
"""

from __future__ import annotations

import json
import platform
import time
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select
from world import open_world, parser, percentiles  # beside this script

from matchning.domain.vocab import ParticipantStatus, Role
from matchning.services import recommendations, users
from matchning.services.context import Context
from matchning.storage.db import unit_of_work
from matchning.storage.repositories import counters
from matchning.storage.tables import ParticipantRow, SlotRow, UnitRow, UserRow


def main() -> None:
    ap = parser(__doc__, "reports/candidates.json")
    ap.add_argument("--slots", type=int, default=1000)
    ap.add_argument("--rebuilds", type=int, default=5, help="units timed after a write")
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
        total = session.scalar(select(func.count()).select_from(ParticipantRow))
        per_unit = dict(session.execute(
            select(ParticipantRow.unit_id, func.count())
            .where(ParticipantRow.status == ParticipantStatus.waiting.value)
            .group_by(ParticipantRow.unit_id)).all())
    rng = np.random.default_rng(args.seed)
    pool = [(s, unit_of[k]) for s, k in slots if k in unit_of and consultant[unit_of[k]]]
    picks = [pool[i] for i in rng.choice(len(pool), size=min(args.slots, len(pool)),
                                         replace=False)]

    def ask(slot_id: int, unit_id: int):
        with unit_of_work(factory) as session:
            ctx = Context(session=session, principal=users.principal_of(consultant[unit_id]),
                          settings=settings, matcher=matcher)
            return recommendations.candidates(ctx, slot_id, args.k)

    def timed(slot_id: int, unit_id: int):
        t = time.perf_counter()
        out = ask(slot_id, unit_id)
        return (time.perf_counter() - t) * 1000, out

    first_unit = {}
    for slot_id, unit_id in picks:  # one call per unit builds its matrix (and loads the model)
        if unit_id not in first_unit:
            first_unit[unit_id] = timed(slot_id, unit_id)[0]
    ms, feasible, reach = [], [], []
    for slot_id, unit_id in picks:
        took, out = timed(slot_id, unit_id)
        ms.append(took)
        feasible.append(out.feasible)
        reach.append(out.extra["within_reach"])
    rebuild = []
    for slot_id, unit_id in picks[:args.rebuilds]:
        with unit_of_work(factory) as session:
            counters.bump(session, counters.participants_of(unit_id))
        rebuild.append(timed(slot_id, unit_id)[0])

    waiting = [per_unit.get(u, 0) for u in first_unit]
    builds = sorted(first_unit.values())
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}", "database": engine.dialect.name,
        "participants": total, "units": len(units), "slots_asked": len(picks),
        "waiting_per_unit": {"mean": round(float(np.mean(waiting)), 1),
                             "max": int(max(waiting))},
        "within_reach": {"mean": round(float(np.mean(reach)), 1), "max": int(max(reach))},
        "feasible_participants": {"mean": round(float(np.mean(feasible)), 1)},
        "first_call_per_unit_ms": {"first (model load)": round(builds[-1]),
                                   "median": round(float(np.median(builds)))},
        "after_a_write_ms": percentiles(rebuild) | {"mean": round(float(np.mean(rebuild)))},
        "candidates_ms": percentiles(ms),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    c = result["candidates_ms"]
    print(f"{'participants':>13}{'units':>6}{'waiting/unit':>13}{'in reach':>9}{'feasible':>9}"
          f"{'calls':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    print(f"{total:>13,}{len(units):>6}{result['waiting_per_unit']['mean']:>13}"
          f"{result['within_reach']['mean']:>9}{result['feasible_participants']['mean']:>9}"
          f"{len(picks):>7}{c['p50']:>8}{c['p95']:>8}{c['p99']:>8}")
    print(f"first call per unit (builds its matrix): median {np.median(builds):.0f} ms, "
          f"slowest {builds[-1]:.0f} ms (with the model load); after a write "
          f"{np.mean(rebuild):.0f} ms on average; JSON: {args.out}")
    engine.dispose()


if __name__ == "__main__":
    main()
