"""Allocation plans: for all waiting participants of a unit and all open slots with free
places, the plan that maximises the expected completed placements (ml/allocation.py).

A plan is advice, never a decision: it is stored with its inputs and model version, and a
consultant accepts each pair (which proposes the placement through services/placements.py)
or overrides it with a reason. Unit staff of the unit only (the CLI acts as the system).
Every read and decision is audited.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np

from matchning.domain.principal import SYSTEM
from matchning.domain.vocab import ParticipantStatus
from matchning.errors import Conflict, InvalidInput, NoCapacity, NotFound
from matchning.ml import allocation as A
from matchning.services import access, placements, precompute, recommendations
from matchning.services.context import Context
from matchning.storage.repositories import allocations as repo
from matchning.storage.repositories import audit, catalog, history
from matchning.storage.tables import (
    AllocationPairRow,
    AllocationPlanRow,
    EmployerRow,
    ParticipantRow,
    SlotRow,
)

METHODS = ("exact", "ot")
PER_PARTICIPANT = 30  # candidate slots per participant: the top of the live ranking
MAX_PER_PARTICIPANT = 100
REASON_MAX = 1000
PROPOSED, ACCEPTED, OVERRIDDEN = "proposed", "accepted", "overridden"
STATUS_SV = {PROPOSED: "föreslagen", ACCEPTED: "godtagen", OVERRIDDEN: "åsidosatt"}


@dataclass
class PlanOptions:
    method: str = "exact"
    fairness_floor: float | None = None
    pinned: list[tuple[int, int]] = field(default_factory=list)    # (participant id, slot id)
    excluded: list[tuple[int, int]] = field(default_factory=list)
    per_participant: int = PER_PARTICIPANT


@dataclass
class PairView:
    row: AllocationPairRow
    display_name: str
    slot_title: str
    employer_name: str


@dataclass
class PlanView:
    plan: AllocationPlanRow
    pairs: list[PairView]


def _require_staff_of(ctx: Context, unit_id: int) -> None:
    """Unit admin or consultant of the unit, or the system itself (CLI)."""
    if ctx.principal is not SYSTEM:
        access.require_unit_staff(ctx)
    access.unit(ctx, unit_id)


def _check(o: PlanOptions) -> None:
    problems = []
    if o.method not in METHODS:
        problems.append({"field": "method", "message": "Välj exact eller ot."})
    if o.fairness_floor is not None:
        if not 0 < o.fairness_floor <= 1:
            problems.append({"field": "fairness_floor",
                             "message": "Golvet ska vara större än 0 och högst 1."})
        elif o.method != "exact":
            problems.append({"field": "fairness_floor",
                             "message": "Golvet för rättvisa kräver metoden exact."})
    if not 1 <= o.per_participant <= MAX_PER_PARTICIPANT:
        problems.append({"field": "per_participant",
                         "message": f"Mellan 1 och {MAX_PER_PARTICIPANT} platser per deltagare."})
    if problems:
        raise InvalidInput("Inställningarna för fördelningen är inte giltiga.", details=problems)


@dataclass
class Built:
    """A unit's allocation problem and how its indices map back to ids."""

    problem: A.Problem
    people: list[int]        # participant ids by index
    slot_ids: list[int]      # slot ids by index
    free: dict[int, int]     # slot id -> free places
    model_version: str


def build_problem(ctx: Context, unit_id: int, o: PlanOptions, today: date | None = None
                  ) -> Built:
    """The unit's waiting participants, the open slots with free places and the feasible
    pairs with the model's calibrated scores: each participant's top `per_participant` of
    the live ranking (the rules and the model are the only source of both). `today`: the
    day the rules judge (default: today; the evaluation uses its truth file's day)."""
    unit = access.unit(ctx, unit_id)
    loaded = recommendations._loaded(ctx)
    prep = ctx.matcher.catalogue(ctx.session, loaded, ctx.ref)
    waiting = precompute._waiting(ctx, unit)
    ranked = precompute.rank_chunk(loaded, prep,
                                   precompute.ScoringDay(today or ctx.today, ctx.ref),
                                   o.per_participant, waiting)
    free = {int(r["id"]): int(r.get("remaining", 0)) for r in prep.slots.records
            if r.get("status") == "open" and int(r.get("remaining", 0)) > 0}
    people = [w.participant_id for w in waiting]
    pos_p = {pid: i for i, pid in enumerate(people)}
    slot_ids = sorted(free)
    pos_s = {sid: j for j, sid in enumerate(slot_ids)}
    pairs = [(pos_p[pid], pos_s[sid], score) for pid, sid, _, score, _ in ranked
             if sid in pos_s and score == score]
    pinned = [_position(pos_p, pos_s, pair, "pinned") for pair in o.pinned]
    excluded = [_position(pos_p, pos_s, pair, "excluded") for pair in o.excluded]
    groups: dict[str, list[int]] = {}
    if o.fairness_floor is not None:  # the target groups are read for the floor only
        for pid, attrs in history.monitoring_by_participant(ctx.session).items():
            if pid in pos_p:
                for g in attrs.get("target_groups") or []:
                    groups.setdefault(g, []).append(pos_p[pid])
    problem = A.Problem.build(len(people), [free[s] for s in slot_ids], pairs, groups=groups,
                              pinned=pinned, excluded=excluded)
    return Built(problem, people, slot_ids, free, loaded.version)


def create_plan(ctx: Context, unit_id: int, options: PlanOptions | None = None) -> PlanView:
    """Compute, store and return a plan for the unit's waiting participants."""
    o = options or PlanOptions()
    _require_staff_of(ctx, unit_id)
    _check(o)
    b = build_problem(ctx, unit_id, o)
    try:
        plan = A.solve(b.problem, o.method, fairness_floor=o.fairness_floor)
    except A.AllocationError as exc:
        raise InvalidInput(str(exc)) from None
    p = b.problem
    look = {(int(i), int(j)): float(s) for i, j, s in zip(p.pi, p.si, p.score, strict=True)}
    pins = set(p.pinned)
    row = repo.add_plan(
        ctx.session, unit_id=unit_id, created_at=ctx.now(),
        created_by=ctx.principal.user_id or None, model_version=b.model_version,
        method=o.method, options={**asdict(o), "pinned": [list(x) for x in o.pinned],
                                  "excluded": [list(x) for x in o.excluded]},
        inputs={"participants": len(b.people), "slots": len(b.slot_ids),
                "free_places": int(sum(b.free.values())), "pairs": len(p.pi),
                "placed": plan.placed, "expected_completions": round(plan.value, 4),
                "seconds": round(plan.seconds, 4)})
    chosen = [(i, int(j)) for i, j in enumerate(plan.slot_of) if j >= 0]
    repo.add_pairs(ctx.session, ({
        "plan_id": row.id, "participant_id": b.people[i], "slot_id": b.slot_ids[j],
        "score": look.get((i, j), 0.0), "pinned": (i, j) in pins, "status": PROPOSED}
        for i, j in chosen))
    for i, j in chosen:
        audit.record(ctx.session, user_id=ctx.principal.user_id, action="allocation.create",
                     subject_type="participant", subject_id=b.people[i], unit_id=unit_id,
                     detail={"plan_id": row.id, "slot_id": b.slot_ids[j]},
                     model_version=b.model_version)
    ctx.session.flush()
    return _view(ctx, row, audit_action=None)


def _position(pos_p: dict[int, int], pos_s: dict[int, int], pair: tuple[int, int],
              name: str) -> tuple[int, int]:
    pid, sid = int(pair[0]), int(pair[1])
    if pid not in pos_p:
        raise InvalidInput("Ett par nämner en deltagare som inte väntar i enheten.",
                           details=[{"field": name, "message": f"deltagare {pid}"}])
    if sid not in pos_s:
        raise InvalidInput("Ett par nämner en praktikplats som inte är öppen med lediga "
                           "platser.", details=[{"field": name, "message": f"plats {sid}"}])
    return pos_p[pid], pos_s[sid]


def _plan_row(ctx: Context, plan_id: int) -> AllocationPlanRow:
    row = repo.plan(ctx.session, plan_id)
    if row is None:
        raise NotFound("Fördelningsplanen finns inte.")
    if ctx.principal is not SYSTEM:
        access.require_unit_staff(ctx)
        if not ctx.principal.in_unit(row.unit_id):
            raise NotFound("Fördelningsplanen finns inte.")
    return row


def _view(ctx: Context, row: AllocationPlanRow, audit_action: str | None = "allocation.read"
          ) -> PlanView:
    pairs = [PairView(p, n, t, e) for p, n, t, e in repo.pair_rows(ctx.session, row.id)]
    if audit_action:
        for p in pairs:
            audit.record(ctx.session, user_id=ctx.principal.user_id, action=audit_action,
                         subject_type="participant", subject_id=p.row.participant_id,
                         unit_id=row.unit_id, detail={"plan_id": row.id},
                         model_version=row.model_version)
    return PlanView(row, pairs)


def get_plan(ctx: Context, plan_id: int) -> PlanView:
    return _view(ctx, _plan_row(ctx, plan_id))


def latest_plan(ctx: Context, unit_id: int) -> PlanView | None:
    _require_staff_of(ctx, unit_id)
    row = repo.latest_plan(ctx.session, unit_id)
    return _view(ctx, row) if row is not None else None


def pairs_of_participant(ctx: Context, participant_id: int) -> list[dict[str, Any]]:
    """The participant's pairs in the latest plans (for the participant's page)."""
    person = access.participant(ctx, participant_id)
    out = [{"plan_id": plan.id, "created_at": plan.created_at, "method": plan.method,
            "slot_id": pair.slot_id, "slot_title": title, "employer_name": employer,
            "score": pair.score, "status": pair.status, "status_sv": STATUS_SV[pair.status],
            "override_reason": pair.override_reason, "placement_id": pair.placement_id,
            "pair": pair}
           for pair, plan, title, employer in repo.pairs_of_participant(ctx.session, person.id)]
    return out


def _pair(ctx: Context, plan_id: int, participant_id: int) -> tuple[AllocationPlanRow,
                                                                    AllocationPairRow]:
    plan = _plan_row(ctx, plan_id)
    pair = repo.pair_of(ctx.session, plan.id, participant_id)
    if pair is None:
        raise NotFound("Deltagaren har inget par i den här planen.")
    if pair.status != PROPOSED:
        raise Conflict(f"Paret är redan {STATUS_SV[pair.status]}.")
    return plan, pair


def accept(ctx: Context, plan_id: int, participant_id: int, note: str | None = None
           ) -> PairView:
    """Accept the plan's pair for the participant: the placement is proposed to the slot.
    409 when the slot has no free place left since the plan was made."""
    plan, pair = _pair(ctx, plan_id, participant_id)
    slot = ctx.session.get(SlotRow, pair.slot_id)
    person = ctx.session.get(ParticipantRow, pair.participant_id)
    assert slot is not None and person is not None
    catalog.lock_slot(ctx.session, slot.id)
    ctx.session.refresh(slot)
    taken = catalog.taken_places(ctx.session, [slot.id]).get(slot.id, 0)
    if taken >= slot.capacity:
        raise NoCapacity(f"Praktikplatsen {slot.title!r} har inga lediga platser kvar sedan "
                         "planen gjordes.")
    if person.status != ParticipantStatus.waiting.value:
        raise Conflict("Deltagaren väntar inte längre på en plats.")
    view = placements.propose(ctx, person.id, slot.id,
                              note or f"Från fördelningsplan {plan.id}.")
    pair.status, pair.placement_id = ACCEPTED, view.row.id
    pair.decided_by, pair.decided_at = ctx.principal.user_id or None, ctx.now()
    audit.record(ctx.session, user_id=ctx.principal.user_id, action="allocation.accept",
                 subject_type="participant", subject_id=person.id, unit_id=plan.unit_id,
                 detail={"plan_id": plan.id, "slot_id": slot.id, "placement_id": view.row.id})
    ctx.session.flush()
    return PairView(pair, person.display_name, slot.title, _employer_name(ctx, slot))


def override(ctx: Context, plan_id: int, participant_id: int, reason: str | None) -> PairView:
    """Set the plan's pair aside; the reason is required and recorded."""
    plan, pair = _pair(ctx, plan_id, participant_id)
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("Ange varför förslaget inte följs.",
                           details=[{"field": "reason", "message": "Anledning saknas."}])
    if len(text) > REASON_MAX:
        raise InvalidInput(f"Anledningen får vara högst {REASON_MAX} tecken.",
                           details=[{"field": "reason", "message": "För lång anledning."}])
    pair.status, pair.override_reason = OVERRIDDEN, text
    pair.decided_by, pair.decided_at = ctx.principal.user_id or None, ctx.now()
    audit.record(ctx.session, user_id=ctx.principal.user_id, action="allocation.override",
                 subject_type="participant", subject_id=pair.participant_id,
                 unit_id=plan.unit_id, detail={"plan_id": plan.id, "slot_id": pair.slot_id,
                                               "reason": text})
    ctx.session.flush()
    slot = ctx.session.get(SlotRow, pair.slot_id)
    person = ctx.session.get(ParticipantRow, pair.participant_id)
    assert slot is not None and person is not None
    return PairView(pair, person.display_name, slot.title, _employer_name(ctx, slot))


def _employer_name(ctx: Context, slot: SlotRow) -> str:
    emp = ctx.session.get(EmployerRow, slot.employer_id)
    return emp.name if emp is not None else ""


def summary_rows(view: PlanView) -> dict[str, Any]:
    """Counts of the plan's pairs by status."""
    counts = {s: 0 for s in STATUS_SV}
    for p in view.pairs:
        counts[p.row.status] += 1
    return {"pairs": len(view.pairs), **counts,
            "mean_score": float(np.mean([p.row.score for p in view.pairs]))
            if view.pairs else None}
