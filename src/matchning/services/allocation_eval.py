"""`matchning evaluate --allocation`: independent top-1, greedy, the exact optimum and the OT
plan on one unit's waiting participants, scored against the demo generator's true
probabilities, as the world is and congested (fewer places than people). The rules judge
the truth file's day (the day its probabilities were drawn for)."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

from matchning.demo.truth import load_truth
from matchning.domain.principal import SYSTEM
from matchning.errors import InvalidInput
from matchning.ml import allocation as A
from matchning.ml import allocation_eval as E
from matchning.services import allocation
from matchning.services.context import Context
from matchning.storage.repositories import history, users

CONGESTED_PLACES_PER_PARTICIPANT = 0.5


def evaluate(ctx: Context, truth_path: Path, *, unit_id: int | None = None,
             per_participant: int = allocation.PER_PARTICIPANT, seed: int = 0,
             congestion: float = CONGESTED_PLACES_PER_PARTICIPANT) -> dict[str, Any]:
    """The table of docs/allocation.md for one unit (default: the first)."""
    if ctx.principal is not SYSTEM:
        raise InvalidInput("Utvärderingen körs från kommandoraden.")
    if not 0 < congestion < 1:
        raise InvalidInput("Trängseln anges som lediga platser per deltagare, mellan 0 och 1.")
    frame, meta = load_truth(Path(truth_path))
    if unit_id is None:
        unit_id = next(iter(ctx.session.scalars(users.units_query()))).id
    day = date.fromisoformat(meta["today"]) if meta.get("today") else None
    built = allocation.build_problem(ctx, unit_id, allocation.PlanOptions(
        per_participant=per_participant), today=day)
    people_ids, slot_ids = history.ids_by_external(ctx.session)
    pos_p = {pid: i for i, pid in enumerate(built.people)}
    pos_s = {sid: j for j, sid in enumerate(built.slot_ids)}
    cand = frame[frame["kind"] == "candidate"]
    truth = {}
    for a, b, v in zip(cand["participant_id"], cand["slot_id"], cand["p"], strict=True):
        i, j = pos_p.get(people_ids.get(a, -1)), pos_s.get(slot_ids.get(b, -1))
        if i is not None and j is not None:
            truth[(i, j)] = float(v)
    p = built.problem
    known = sum((int(i), int(j)) in truth for i, j in zip(p.pi, p.si, strict=True))
    groups: dict[str, list[int]] = {}
    for pid, attrs in history.monitoring_by_participant(ctx.session).items():
        if pid in pos_p:
            for g in attrs.get("target_groups") or []:
                groups.setdefault(g, []).append(pos_p[pid])
    p = A.Problem.build(p.n_participants, p.capacity,
                        zip(p.pi.tolist(), p.si.tolist(), p.score.tolist(), strict=True),
                        groups=groups)
    scenarios = {"as_is": p}
    if p.capacity.sum() > congestion * p.n_participants:  # else congested already
        scenarios["congested"] = E.congested(p, congestion, seed)
    out: dict[str, Any] = {
        "unit_id": unit_id, "model_version": built.model_version,
        "truth": {"file": str(truth_path), "variant": meta.get("variant"),
                  "day": meta.get("today"), "pairs_with_truth": known, "pairs": len(p.pi)},
        "per_participant": per_participant, "seed": seed,
        "congested_places_per_participant": congestion, "scenarios": {}}
    for name, problem in scenarios.items():
        rows = E.run_methods(problem, truth, seed=seed)
        out["scenarios"][name] = {
            "participants": problem.n_participants, "places": int(problem.capacity.sum()),
            "slots": int((problem.capacity > 0).sum()),
            "methods": [dataclasses.asdict(r) for r in rows]}
    return out
