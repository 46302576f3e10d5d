"""What the mixed-load generator sent and was told (the ledger), the table of latencies, and
the check of every write against the database, read directly."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import text

from matchning.storage.db import make_engine

ORDER = ("suggest", "slot_create", "slot_edit", "propose", "accept", "decline", "withdraw",
         "start", "complete")


@dataclass
class Ledger:
    """Every answer by request type, and the state the generator was told it made."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    outcomes: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, str] = field(default_factory=dict)
    total: int = 0
    slots_sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # external id → body
    slots_ok: dict[str, int] = field(default_factory=dict)               # external id → id
    slot_state: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → fields
    edits: int = 0
    placements: dict[int, str] = field(default_factory=dict)             # id → last status
    moves: Counter = field(default_factory=Counter)                      # id → 2xx changes

    def answer(self, kind: str, status: int | None, seconds: float, detail: str) -> None:
        self.total += 1
        self.seconds[kind].append(seconds)
        if status is not None and 200 <= status < 300:
            self.outcomes[kind]["ok"] += 1
        elif status == 409:
            self.outcomes[kind]["conflict"] += 1
        else:  # a 5xx, a transport error or a 4xx the generator never provokes
            self.outcomes[kind]["error"] += 1
            self.examples.setdefault(kind, f"{status}: {detail}")

    def sent_slot(self, ext: str, body: dict[str, Any]) -> None:
        self.slots_sent[ext] = body

    def slot_created(self, ext: str, slot_id: int) -> None:
        body = self.slots_sent[ext]
        self.slots_ok[ext] = slot_id
        self.slot_state[slot_id] = {"description": body["description"],
                                    "capacity": body["capacity"]}

    def slot_capacity(self, slot_id: int) -> int:
        return self.slot_state[slot_id]["capacity"]

    def slot_edited(self, slot_id: int, patch: dict[str, Any]) -> None:
        self.edits += 1
        self.slot_state[slot_id].update(patch)

    def placement(self, placement_id: int, status: str, new: bool = False) -> None:
        self.placements[placement_id] = status
        if not new:
            self.moves[placement_id] += 1

    def writes_checked(self) -> dict[str, int]:
        return {"slots": len(self.slots_ok), "slot edits": self.edits,
                "placements": len(self.placements), "status changes": sum(self.moves.values())}


def summarise(ledger: Ledger) -> list[dict[str, Any]]:
    rows = []
    for kind in sorted(ledger.seconds, key=lambda k: ORDER.index(k) if k in ORDER else 99):
        ms = np.asarray(ledger.seconds[kind]) * 1000
        out = ledger.outcomes[kind]
        rows.append({"type": kind, "count": int(ms.size), "ok": out["ok"],
                     "conflicts": out["conflict"], "errors": out["error"],
                     "p50_ms": round(float(np.percentile(ms, 50)), 1),
                     "p99_ms": round(float(np.percentile(ms, 99)), 1),
                     "max_ms": round(float(ms.max()), 1),
                     "example": ledger.examples.get(kind, "")})
    return rows


def check_database(url: str, ledger: Ledger, run: str, placements_before: int) -> list[str]:
    """Every problem found: lost, duplicated or half-stored writes, slots over capacity."""
    problems: list[str] = []
    engine = make_engine(url)
    with engine.connect() as conn:
        q = lambda sql, **p: conn.execute(text(sql), p).all()  # noqa: E731
        stored = q("SELECT external_id, id, description, capacity FROM slots "
                   "WHERE external_id LIKE :p", p=f"load-{run}-%")
        seen = Counter(r[0] for r in stored)
        problems += [f"slot {e} stored {n} times" for e, n in seen.items() if n > 1]
        by_ext = {r[0]: r for r in stored}
        problems += [f"slot {e} answered 201 but not stored" for e in ledger.slots_ok
                     if e not in by_ext]
        problems += [f"slot {e} stored without a 2xx" for e in by_ext
                     if e not in ledger.slots_ok]
        for ext, slot_id in ledger.slots_ok.items():
            row = by_ext.get(ext)
            want = ledger.slot_state[slot_id]
            if row is not None and (row[1], row[2], row[3]) != (
                    slot_id, want["description"], want["capacity"]):
                problems.append(f"slot {ext}: stored {row[1:]}, expected {slot_id} {want}")

        rows = {r[0]: (r[1], r[2]) for r in q(
            "SELECT p.id, p.status, (SELECT count(*) FROM placement_events e "
            "WHERE e.placement_id = p.id) FROM placements p WHERE p.id > :b",
            b=placements_before)}
        problems += [f"placement {i} answered 201 but not stored" for i in ledger.placements
                     if i not in rows]
        problems += [f"placement {i} stored without a 2xx" for i in rows
                     if i not in ledger.placements]
        for pid, status in ledger.placements.items():
            if pid in rows and rows[pid] != (status, 1 + ledger.moves[pid]):
                problems.append(f"placement {pid}: stored (status, events) {rows[pid]}, "
                                f"expected {(status, 1 + ledger.moves[pid])}")

        over = q("SELECT s.id, s.capacity, count(p.id) FROM slots s JOIN placements p ON "
                 "p.slot_id = s.id AND p.status IN ('accepted', 'started') "
                 "GROUP BY s.id, s.capacity HAVING count(p.id) > s.capacity")
        problems += [f"slot {i}: {n} accepted/started placements on {c} places"
                     for i, c, n in over]
    engine.dispose()
    return problems
