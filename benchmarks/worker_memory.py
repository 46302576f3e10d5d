"""Memory (RSS) of one API worker holding the slot catalogue and every unit's participants.

    .venv/bin/python benchmarks/worker_memory.py \
        --database-url sqlite:////tmp/big/matchning.sqlite3 --models-dir /tmp/big/models

Starts `matchning serve` with one worker on a seeded world with an active model, then fills
its caches over HTTP as its first requests would: one suggestion list (the model and the
slot catalogue: open and paused slots, encoded) and, for every unit, one candidate list (the
unit's waiting participants, encoded). RSS is read from /proc after start-up, after the
catalogue, and after the last unit; the peak is VmHWM. Prints a table and writes JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from server import API, consultant_tokens, get, rss_mb, serve  # beside this script
from sqlalchemy import func, select

from matchning.config import Settings
from matchning.domain.vocab import ParticipantStatus
from matchning.storage.db import make_engine, make_session_factory
from matchning.storage.tables import ParticipantRow, SlotRow, UnitRow


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--models-dir", type=Path, required=True)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--out", type=Path, default=Path("reports/worker_memory.json"))
    args = ap.parse_args()

    engine = make_engine(args.database_url)
    factory = make_session_factory(engine)
    settings = Settings(database_url=args.database_url, models_dir=args.models_dir)
    tokens = consultant_tokens(factory, settings)
    with factory() as s:
        count = lambda stmt: int(s.scalar(stmt) or 0)  # noqa: E731
        participants = count(select(func.count()).select_from(ParticipantRow))
        waiting = count(select(func.count()).select_from(ParticipantRow).where(
            ParticipantRow.status == ParticipantStatus.waiting.value))
        live = count(select(func.count()).select_from(SlotRow).where(
            SlotRow.status.in_(("open", "paused"))))
        slots = count(select(func.count()).select_from(SlotRow))
        first = {}
        for unit_id in s.scalars(select(UnitRow.id)):
            kommuner = s.scalar(select(UnitRow.kommuner).where(UnitRow.id == unit_id))
            first[unit_id] = (
                s.scalar(select(ParticipantRow.id).where(
                    ParticipantRow.unit_id == unit_id,
                    ParticipantRow.status == ParticipantStatus.waiting.value).limit(1)),
                s.scalar(select(SlotRow.id).where(SlotRow.status == "open",
                                                  SlotRow.kommunkod.in_(kommuner)).limit(1)))
    engine.dispose()

    steps = []
    log = args.out.with_suffix(".server.log")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with serve(args.database_url, args.models_dir, 1, args.port, log=log) as server:
        pid = server.worker_pids()[0]

        def step(name: str, seconds: float = 0.0) -> None:
            now, peak = rss_mb(pid)
            steps.append({"step": name, "rss_mb": round(now), "peak_rss_mb": round(peak),
                          "seconds": round(seconds, 1)})

        step("started")
        unit_id, (person, _) = next((u, v) for u, v in first.items() if v[0] and u in tokens)
        t = time.perf_counter()
        status, body = get(f"{server.url}{API}/participants/{person}/recommendations",
                           tokens[unit_id])
        assert status == 200, body[:300]
        step("model + slot catalogue", time.perf_counter() - t)
        t = time.perf_counter()
        for unit_id, (_, slot) in first.items():
            if slot is None or unit_id not in tokens:
                continue
            status, body = get(f"{server.url}{API}/slots/{slot}/candidates", tokens[unit_id])
            assert status == 200, body[:300]
        step(f"+ participants of {len(first)} units", time.perf_counter() - t)

    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.node()} {platform.machine()}", "cores": os.cpu_count(),
              "database": args.database_url.split(":")[0], "slots": slots,
              "slots_in_catalogue": live, "participants": participants,
              "waiting_participants": waiting, "units": len(first), "steps": steps,
              "rss_mb": steps[-1]["rss_mb"], "peak_rss_mb": steps[-1]["peak_rss_mb"]}
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"world: {slots:,} slots ({live:,} open or paused), {participants:,} participants "
          f"({waiting:,} waiting) in {len(first)} units")
    print(f"{'step':<34}{'seconds':>9}{'RSS MB':>9}{'peak MB':>9}")
    for s_ in steps:
        print(f"{s_['step']:<34}{s_['seconds']:>9}{s_['rss_mb']:>9,}{s_['peak_rss_mb']:>9,}")
    print(f"JSON: {args.out}")


if __name__ == "__main__":
    main()
