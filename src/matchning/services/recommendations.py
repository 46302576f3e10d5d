"""Suggestions both ways: the best open slots for a participant, and the best waiting
participants for a slot, each with reasons; and the slots the rules removed, with why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from matchning.domain.snapshot import SNAPSHOT_FIELDS, profile_snapshot
from matchning.errors import InvalidInput, ModelUnavailable
from matchning.ml import reasons as why
from matchning.ml.catalog import SlotMatrix
from matchning.ml.model import Prepared
from matchning.ml.profiles import ProfileMatrix
from matchning.ml.rule_defs import PairHistory, RuleDay, RuleSettings
from matchning.ml.rules import evaluate_rules, evaluate_rules_for_slot, feasible_slots
from matchning.services import access
from matchning.services.context import Context
from matchning.services.matcher import LoadedModel
from matchning.storage.repositories import audit, history
from matchning.storage.tables import UnitRow

FIRST_STAGE_KEEP = 300


@dataclass
class Filters:
    kommun: str | None = None
    occupation: str | None = None
    max_km: float | None = None


@dataclass
class Suggestions:
    model_version: str
    subject_id: int
    items: list[dict[str, Any]]
    feasible: int = 0
    considered: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _loaded(ctx: Context) -> LoadedModel:
    if ctx.matcher is None:
        raise ModelUnavailable()
    return ctx.matcher.model(ctx.session)


def rule_settings(ctx: Context, unit: UnitRow | None) -> RuleSettings:
    s = (unit.settings if unit is not None else {}) or {}
    return RuleSettings(start_horizon_days=int(s.get("start_horizon_days", 60)),
                        reduced_hours_max=float(s.get("reduced_hours_max", 30)),
                        same_kommun_km=ctx.settings.same_kommun_distance_km)


def histories(ctx: Context, unit: UnitRow | None, ids: list[int]) -> dict[int, PairHistory]:
    s = (unit.settings if unit is not None else {}) or {}
    now = ctx.now()
    raw = history.pair_history(
        ctx.session, ids,
        rejected_since=now - timedelta(days=int(s.get("rejection_days", 90))),
        aborted_since=ctx.today - timedelta(days=int(s.get("recent_abort_days", 180))))
    return {pid: PairHistory(frozenset(h["blocked"]), frozenset(h["rejected"]),
                             frozenset(h["aborted"])) for pid, h in raw.items()}


def _check_filters(ctx: Context, f: Filters) -> None:
    problems = []
    if f.kommun is not None and not ctx.ref.is_kommunkod(f.kommun):
        problems.append({"field": "kommun", "message": f"Okänd kommunkod: {f.kommun}"})
    if f.occupation is not None and not ctx.ref.is_occupation_code(f.occupation):
        problems.append({"field": "occupation",
                         "message": f"Okänd yrkeskod (SSYK): {f.occupation}"})
    if problems:
        raise InvalidInput("Filtret är inte giltigt.", details=problems)


def _slot_item(ctx: Context, rec: dict[str, Any]) -> dict[str, Any]:
    kommun = ctx.ref.municipalities.get(rec["kommunkod"])
    return {
        "slot": {"id": rec["id"], "external_id": rec.get("external_id"), "title": rec["title"],
                 "occupation_code": rec["occupation_code"],
                 "occupation_label": ctx.ref.occupation_label(rec["occupation_code"]) or ""},
        "employer": {"id": rec["employer_id"], "name": rec.get("employer_name", "")},
        "kommun": {"kommunkod": rec["kommunkod"], "name": kommun.name if kommun else ""},
        "remaining_places": int(rec.get("remaining", 0)),
    }


def _rank_for_profile(ctx: Context, loaded: LoadedModel, prep: Prepared, profile: dict,
                      hist: PairHistory, rules: RuleSettings, f: Filters):
    ok = feasible_slots(profile, prep.slots, hist, RuleDay(ctx.today, rules), ctx.ref)
    S = prep.slots
    keep = np.ones(len(ok.idx), dtype=bool)
    if f.kommun:
        keep &= S.kommun[ok.idx] == f.kommun
    if f.occupation:
        keep &= np.array([str(c).startswith(f.occupation) for c in S.occupation[ok.idx]],
                         dtype=bool)
    if f.max_km is not None:
        keep &= ok.distance_km <= f.max_km
    idx, dist = ok.idx[keep], ok.distance_km[keep]
    P = ProfileMatrix.from_records([profile], ctx.ref)
    EP = loaded.model.encode_profiles(P)
    pi = np.zeros(len(idx), dtype=np.int64)
    X = loaded.model.features(P, EP, prep, pi, idx, dist, ctx.ref)
    return ok, idx, dist, X


def recommend(ctx: Context, participant_id: int, k: int = 10,
              filters: Filters | None = None) -> Suggestions:
    """The top k open slots with free places for the participant, best first."""
    access.require_unit_staff_or_system(ctx)
    person = access.participant(ctx, participant_id)
    f = filters or Filters()
    _check_filters(ctx, f)
    loaded = _loaded(ctx)
    prep = ctx.matcher.catalogue(ctx.session, loaded, ctx.ref)
    unit = ctx.session.get(UnitRow, person.unit_id)
    profile = profile_snapshot(person)
    hist = histories(ctx, unit, [person.id])[person.id]
    ok, idx, dist, X = _rank_for_profile(ctx, loaded, prep, profile, hist,
                                         rule_settings(ctx, unit), f)
    order, scores = loaded.model.two_stage(X, FIRST_STAGE_KEEP)
    top = order[:k]
    effects = why.contributions(loaded.model, X[top])
    items = []
    for rank, (row, eff) in enumerate(zip(top, effects, strict=True), start=1):
        rec = prep.slots.records[idx[row]]
        items.append({"rank": rank, **_slot_item(ctx, rec),
                      "distance_km": round(float(dist[row]), 1),
                      "score": round(float(scores[row]), 4),
                      "reasons": why.reasons(X[row], eff, rec, profile,
                                             ctx.ref.occupation_label)})
    audit.record(ctx.session, user_id=ctx.principal.user_id, action="recommendations.read",
                 subject_type="participant", subject_id=person.id,
                 detail={"k": k, "slot_ids": [i["slot"]["id"] for i in items],
                         "filters": {k_: v for k_, v in vars(f).items() if v is not None}},
                 model_version=loaded.version)
    return Suggestions(loaded.version, person.id, items, feasible=len(ok.idx),
                       considered=len(prep.slots))


def excluded(ctx: Context, participant_id: int, limit: int = 20, offset: int = 0
             ) -> tuple[Suggestions, int]:
    """Open slots in their period that the rules removed for this participant, the most
    relevant first (by the first-stage score), each with every rule it broke."""
    access.require_unit_staff_or_system(ctx)
    person = access.participant(ctx, participant_id)
    loaded = _loaded(ctx)
    prep = ctx.matcher.catalogue(ctx.session, loaded, ctx.ref)
    unit = ctx.session.get(UnitRow, person.unit_id)
    profile = profile_snapshot(person)
    hist = histories(ctx, unit, [person.id])[person.id]
    out = evaluate_rules(profile, prep.slots, hist, RuleDay(ctx.today, rule_settings(ctx, unit)),
                         ctx.ref)
    idx = np.flatnonzero(~out.feasible)
    P = ProfileMatrix.from_records([profile], ctx.ref)
    X = loaded.model.features(P, loaded.model.encode_profiles(P), prep,
                              np.zeros(len(idx), dtype=np.int64), idx, out.distance_km[idx],
                              ctx.ref)
    cheap = loaded.model.first_stage.decision_function(X) if len(X) else np.zeros(0)
    order = idx[np.argsort(-cheap, kind="stable")]
    page = order[offset:offset + limit]
    items = [{**_slot_item(ctx, prep.slots.records[i]),
              "distance_km": round(float(out.distance_km[i]), 1),
              "rules": out.reasons(i)} for i in page]
    audit.record(ctx.session, user_id=ctx.principal.user_id,
                 action="recommendations.excluded_read", subject_type="participant",
                 subject_id=person.id, detail={"count": len(items)},
                 model_version=loaded.version)
    return Suggestions(loaded.version, person.id, items, feasible=int(out.feasible.sum()),
                       considered=len(prep.slots)), len(order)


def candidates(ctx: Context, slot_id: int, k: int = 10) -> Suggestions:
    """The unit's waiting participants who fit the slot best."""
    access.require_unit_staff(ctx)
    access.slot_for_read(ctx, slot_id)
    unit_id = ctx.principal.unit_id
    if unit_id is None:
        raise InvalidInput("Kandidater hämtas för en enhet; du tillhör ingen enhet.")
    loaded = _loaded(ctx)
    recs = history.slot_records(ctx.session, slot_ids=[slot_id])
    S = SlotMatrix.from_records(recs, ctx.ref)
    prep = loaded.model.prepare(S)
    unit = ctx.session.get(UnitRow, unit_id)
    rules = rule_settings(ctx, unit)
    people = history.waiting_profiles(ctx.session, unit_id, SNAPSHOT_FIELDS)
    hists = histories(ctx, unit, [p.id for p in people])
    day = RuleDay(ctx.today, rules)
    snapshots = [profile_snapshot(person.fields) for person in people]
    out = evaluate_rules_for_slot(snapshots, S, [hists[p.id] for p in people], day, ctx.ref) \
        if people else None
    keep = np.flatnonzero(out.feasible) if out is not None else np.zeros(0, dtype=np.int64)
    fit = [people[i] for i in keep]
    profiles = [snapshots[i] for i in keep]
    items: list[dict[str, Any]] = []
    if fit:
        P = ProfileMatrix.from_records(profiles, ctx.ref)
        pi = np.arange(len(fit))
        si = np.zeros(len(fit), dtype=np.int64)
        dist = out.distance_km[keep]
        X = loaded.model.features(P, loaded.model.encode_profiles(P), prep, pi, si, dist,
                                  ctx.ref)
        p = loaded.model.predict(X)
        top = np.lexsort((pi, -loaded.model.raw_score(X), -p))[:k]
        effects = why.contributions(loaded.model, X[top])
        for rank, (row, eff) in enumerate(zip(top, effects, strict=True), start=1):
            person = fit[row]
            items.append({
                "rank": rank,
                "participant": {"id": person.id, "external_id": person.external_id,
                                "display_name": person.display_name,
                                "kommunkod": person.fields["kommunkod"]},
                "distance_km": round(float(dist[row]), 1), "score": round(float(p[row]), 4),
                "reasons": why.reasons(X[row], eff, recs[0], profiles[row],
                                       ctx.ref.occupation_label)})
            audit.record(ctx.session, user_id=ctx.principal.user_id, action="candidates.read",
                         subject_type="participant", subject_id=person.id,
                         detail={"slot_id": slot_id, "rank": rank},
                         model_version=loaded.version)
    return Suggestions(loaded.version, slot_id, items, feasible=len(fit),
                       considered=len(people))


