"""Slot-gap analysis for a unit: which occupations and kommuner its waiting participants lack
feasible slots in, enriched with the shortage index, each with a call list of employers.

Feasibility is the matching engine's own: the rule filters (`ml.rules.feasible_slots`) on the
open slots with free places, with the unit's rule settings and each participant's history, as
for a suggestion list. "A good suggestion" is read from the participant's stored top list
(`matchning precompute`) when there is one: its best score is at least GOOD_SCORE; without a
stored list, a feasible slot in one of the participant's own occupations counts as one.
No model is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from matchning.domain import geo
from matchning.domain.gaps import CallEntry, Gap, Seeker, ShortageIndex, call_list, rank_gaps
from matchning.domain.snapshot import SNAPSHOT_FIELDS, profile_snapshot
from matchning.errors import InvalidInput
from matchning.ml.catalog import SlotMatrix
from matchning.ml.rule_defs import RuleDay
from matchning.ml.rules import feasible_slots
from matchning.services import recommendations
from matchning.services.context import Context
from matchning.services.results import readable_unit
from matchning.storage.repositories import audit, history, precomputed
from matchning.storage.repositories import results as facts
from matchning.storage.tables import UnitRow

GOOD_SCORE = 0.5   # a stored suggestion at least this likely to be completed is a good one
DEFAULT_TOP, MAX_TOP = 20, 200
CALLS = 10         # employers per gap


@dataclass
class GapView:
    gap: Gap
    calls: list[CallEntry]


@dataclass
class GapReport:
    unit: UnitRow
    waiting: int
    gaps: list[GapView]
    open_slots: int
    lists_from: datetime | None = None  # when the stored lists used were computed, if any
    with_list: int = 0                  # waiting participants judged by a stored list
    good_score: float = GOOD_SCORE
    points: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)


def occupations_of(profile: Mapping) -> tuple[str, ...]:
    """Wished occupations first, then past work: each SSYK 4 code once."""
    codes = list(profile.get("wished_occupations") or ())
    codes += [str(w.get("code")) for w in profile.get("past_work") or () if w.get("code")]
    return tuple(dict.fromkeys(c for c in codes if len(c) == 4 and c.isdigit()))


def analyse(ctx: Context, unit_id: int, top: int = DEFAULT_TOP) -> GapReport:
    """The unit's top gaps, largest shortfall first, each with its call list; audited."""
    if not 1 <= top <= MAX_TOP:
        raise InvalidInput(f"Antal luckor ska vara mellan 1 och {MAX_TOP}.",
                           details=[{"field": "top", "message": f"Högst {MAX_TOP}."}])
    unit = readable_unit(ctx, unit_id)
    s = ctx.session
    people = history.waiting_profiles(s, unit.id, SNAPSHOT_FIELDS)
    recs = history.slot_records(s, only_open=True)
    slots = SlotMatrix.from_records(recs, ctx.ref).indexed()
    day = RuleDay(ctx.today, recommendations.rule_settings(ctx, unit))
    hists = recommendations.histories(ctx, unit, [p.id for p in people])
    stored = precomputed.lists_for_unit(s, unit.id)
    report = GapReport(unit, len(people), [], int((slots.remaining > 0).sum()))
    seekers: dict[int, Seeker] = {}
    for p in people:
        profile = profile_snapshot(p.fields)
        ok = feasible_slots(profile, slots, hists[p.id], day, ctx.ref)
        by_occ: dict[str, set[int]] = {}
        for i in ok.idx:
            by_occ.setdefault(str(recs[i]["occupation_code"]), set()).add(int(recs[i]["id"]))
        occs = occupations_of(profile)
        feasible = {o: frozenset(by_occ.get(o, ())) for o in occs}
        if p.id in stored:
            best = stored[p.id][0]
            good = best.score >= GOOD_SCORE
            report.with_list += 1
            when = best.computed_at
            report.lists_from = when if report.lists_from is None else min(report.lists_from,
                                                                           when)
        else:
            good = any(feasible.values())
        seekers[p.id] = Seeker(p.id, profile["kommunkod"], occs, feasible, good,
                               float(profile["max_commute_km"]))
        report.points[p.id] = (profile.get("lat"), profile.get("lon"))
    shortage = {o: ShortageIndex(*ctx.ref.shortage_index(o))
                for s_ in seekers.values() for o in s_.occupations}
    remaining = {int(r["id"]): int(r["remaining"]) for r in recs}
    gaps = rank_gaps(list(seekers.values()), remaining, shortage, top)
    offered = facts.live_slots_with_employer(s)
    by_group: dict[str, list[dict]] = {}
    for slot in offered:
        by_group.setdefault(str(slot["occupation_code"])[:2], []).append(slot)

    def distance(seeker: Seeker, slot: Mapping) -> float:
        lat, lon = report.points[seeker.id]
        here = (lat, lon) if lat is not None and lon is not None else None
        there = (slot["lat"], slot["lon"]) if slot["lat"] is not None \
            and slot["lon"] is not None else None
        return geo.distance_km(ctx.ref, seeker.kommunkod, here, slot["kommunkod"], there,
                               ctx.settings.same_kommun_distance_km)

    for gap in gaps:
        calls = call_list(gap, seekers, by_group.get(gap.occupation[:2], []), distance, CALLS)
        report.gaps.append(GapView(gap, calls))
    audit.record(s, user_id=ctx.principal.user_id, action="gaps.read", subject_type="unit",
                 subject_id=unit.id, unit_id=unit.id, at=ctx.now(),
                 detail={"top": top, "gaps": len(gaps)})
    return report


def as_json(ctx: Context, report: GapReport) -> dict:
    """The analysis as JSON-ready data (API, `matchning gaps --json`)."""
    ref = ctx.ref

    def kommun(code: str) -> str:
        m = ref.municipalities.get(code)
        return m.name if m else code

    return {
        "unit": {"id": report.unit.id, "name": report.unit.name},
        "waiting": report.waiting, "open_slots_with_places": report.open_slots,
        "good_score": report.good_score, "judged_by_stored_lists": report.with_list,
        "lists_computed_at": report.lists_from.isoformat() if report.lists_from else None,
        "gaps": [{
            "rank": n,
            "occupation": {"code": v.gap.occupation,
                           "label": ref.occupation_label(v.gap.occupation) or ""},
            "kommun": {"kommunkod": v.gap.kommunkod, "name": kommun(v.gap.kommunkod)},
            "participants": len(v.gap.participants),
            "without_feasible_slot": len(v.gap.without_slot),
            "without_good_suggestion": len(v.gap.without_good),
            "affected": v.gap.affected,
            "free_places_in_reach": v.gap.supply_places,
            "slots_in_reach": v.gap.supply_slots,
            "demand": v.gap.demand, "shortfall": v.gap.shortfall,
            "shortage_index": {"2022": v.gap.shortage.now, "outlook": v.gap.shortage.outlook},
            "job_chances": v.gap.job_chances,
            "call_list": [{
                "employer": {"id": c.employer_id, "name": c.employer_name, **c.contact},
                "closeness": c.closeness, "participants_in_reach": c.participants_in_reach,
                "nearest_km": round(c.nearest_km, 1), "slots": c.slots,
            } for c in v.calls],
        } for n, v in enumerate(report.gaps, start=1)],
    }
