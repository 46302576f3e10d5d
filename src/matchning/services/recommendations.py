"""Suggestions both ways: the best open slots for a participant, and the best waiting
participants for a slot, each with reasons; and the slots the rules removed, with why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from matchning.domain.snapshot import profile_snapshot
from matchning.domain.vocab import ParticipantStatus
from matchning.errors import InvalidInput, ModelUnavailable
from matchning.ml import reasons as why
from matchning.ml.catalog import SlotMatrix
from matchning.ml.dates import day_number
from matchning.ml.model import Prepared
from matchning.ml.profiles import ProfileMatrix
from matchning.ml.rule_defs import PairHistory, RuleDay, RuleSettings
from matchning.ml.rules import evaluate_rules, feasible_slots, rules_for_pairs
from matchning.services import access, congestion
from matchning.services.context import Context
from matchning.services.matcher import LoadedModel, ParticipantPool
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


def _serving(ctx: Context, state: history.ServingState | None = None
             ) -> tuple[LoadedModel, Prepared]:
    """The active model and the slot catalogue encoded for it (one database read, none when
    the caller read `state`)."""
    if ctx.matcher is None:
        raise ModelUnavailable()
    return ctx.matcher.serving(ctx.session, ctx.ref, state)


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
              filters: Filters | None = None, *, spread: bool = False) -> Suggestions:
    """The top k open slots with free places for the participant, best first, each with how
    contested it is. `spread`: ordered by score less the slot's congestion price from the
    unit's transport plan (services/congestion.py), so lists spread over the free places."""
    access.require_unit_staff_or_system(ctx)
    row, unit, state = history.participant_and_state(ctx.session, participant_id)
    person = access.visible_participant(ctx, row)
    f = filters or Filters()
    _check_filters(ctx, f)
    loaded, prep = _serving(ctx, state)
    profile = profile_snapshot(person)
    hist = histories(ctx, unit, [person.id])[person.id]
    ok, idx, dist, X = _rank_for_profile(ctx, loaded, prep, profile, hist,
                                         rule_settings(ctx, unit), f)
    ranking = loaded.model.ranked(X, FIRST_STAGE_KEEP)
    order, scores = ranking.order, ranking.scores
    adjusted = None
    if spread:
        prices = congestion.spread_prices(ctx, person.unit_id, prep)
        price = np.array([prices.get(int(prep.slots.records[i]["id"]), 0.0) for i in idx])
        adjusted = scores - price if len(idx) else scores
        scored = order[~np.isnan(scores[order])]
        order = np.r_[scored[np.argsort(-adjusted[scored], kind="stable")],
                      order[len(scored):]].astype(np.int64)
    top = order[:k]
    listed_raw = ranking.raw[top]  # NaN only for a row the first stage cut
    effects = why.contributions(loaded.model, X[top],
                                None if np.isnan(listed_raw).any() else listed_raw)
    items = []
    for rank, (row, eff) in enumerate(zip(top, effects, strict=True), start=1):
        rec = prep.slots.records[idx[row]]
        items.append({"rank": rank, **_slot_item(ctx, rec),
                      "distance_km": round(float(dist[row]), 1),
                      "score": round(float(scores[row]), 4),
                      "reasons": why.reasons(X[row], eff, rec, profile,
                                             ctx.ref.occupation_label)})
        if adjusted is not None:
            items[-1]["spread_score"] = round(float(adjusted[row]), 4)
    congestion.with_contest(ctx, person.unit_id, person.id, items, state.unit_has_lists)
    audit.record_now(ctx.session, user_id=ctx.principal.user_id, action="recommendations.read",
                 subject_type="participant", subject_id=person.id,
                 detail={"k": k, "slot_ids": [i["slot"]["id"] for i in items],
                         "filters": {k_: v for k_, v in vars(f).items() if v is not None},
                         **({"spread": True} if spread else {})},
                 model_version=loaded.version, unit_id=person.unit_id)
    return Suggestions(loaded.version, person.id, items, feasible=len(ok.idx),
                       considered=len(prep.slots))


def excluded(ctx: Context, participant_id: int, limit: int = 20, offset: int = 0
             ) -> tuple[Suggestions, int]:
    """Open slots in their period that the rules removed for this participant, the most
    relevant first (by the first-stage score), each with every rule it broke."""
    access.require_unit_staff_or_system(ctx)
    person = access.participant(ctx, participant_id)
    loaded, prep = _serving(ctx)
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
    prep = loaded.model.prepare(SlotMatrix.from_records(recs, ctx.ref))
    unit = ctx.session.get(UnitRow, unit_id)
    for attempt in range(2):
        pool = ctx.matcher.participants(ctx.session, loaded, unit_id, ctx.ref)
        reached, fit, dist, X, p, top = _rank_candidates(ctx, loaded, prep, pool, unit, k)
        # Never list someone whose status or profile changed since the matrix was built
        # (a writer that forgot the counter): one primary-key read of the k listed.
        listed = pool.ids[fit[top]]
        now = history.participant_states(ctx.session, [int(i) for i in listed])
        if all(now.get(int(i)) == (ParticipantStatus.waiting.value, int(v), unit_id)
               for i, v in zip(listed, pool.versions[fit[top]], strict=True)) or attempt:
            break
        ctx.matcher.forget_participants(unit_id)
    items: list[dict[str, Any]] = []
    effects = why.contributions(loaded.model, X[top]) if len(top) else []
    for row, eff in zip(top, effects, strict=True):
        i = int(fit[row])
        if now.get(int(pool.ids[i]), ("",))[0] != ParticipantStatus.waiting.value:
            continue  # changed again while we looked: leave them out rather than list them
        rank = len(items) + 1
        items.append({
            "rank": rank,
            "participant": {"id": int(pool.ids[i]), "external_id": pool.external_ids[i],
                            "display_name": pool.names[i],
                            "kommunkod": pool.matrix.records[i]["kommunkod"]},
            "distance_km": round(float(dist[row]), 1), "score": round(float(p[row]), 4),
            "reasons": why.reasons(X[row], eff, recs[0], pool.matrix.records[i],
                                   ctx.ref.occupation_label)})
        audit.record(ctx.session, user_id=ctx.principal.user_id, action="candidates.read",
                     subject_type="participant", subject_id=int(pool.ids[i]),
                     detail={"slot_id": slot_id, "rank": rank},
                     model_version=loaded.version, unit_id=unit_id)
    return Suggestions(loaded.version, slot_id, items, feasible=len(fit),
                       considered=len(pool), extra={"within_reach": reached})


def _rank_candidates(ctx: Context, loaded: LoadedModel, prep: Prepared, pool: ParticipantPool,
                     unit: UnitRow | None, k: int):
    """(how many were within reach, feasible pool indices, their distances, features, scores,
    top k rows): the rules on the participants within reach of the slot only; features and
    both stages on the feasible ones (as for a participant's list: the first stage keeps
    FIRST_STAGE_KEEP, the ranker orders them)."""
    S = prep.slots
    s = (unit.settings if unit is not None else {}) or {}
    reach = pool.reach.within(float(S.lat[0]), float(S.lon[0]))
    seen = history.slot_history(
        ctx.session, int(S.ids[0]), int(S.employer[0]),
        rejected_since=ctx.now() - timedelta(days=int(s.get("rejection_days", 90))),
        aborted_since=ctx.today - timedelta(days=int(s.get("recent_abort_days", 180))))
    ids = pool.ids[reach]
    member = lambda who: np.isin(ids, np.fromiter(who, dtype=np.int64, count=len(who)))  # noqa: E731
    none = np.zeros(len(reach), dtype=np.int64)
    out = rules_for_pairs(pool.matrix, S, reach, none, day_number(ctx.today, 0),
                          rule_settings(ctx, unit), blocked=member(seen.blocked),
                          rejected=member(seen.rejected), aborted=member(seen.aborted))
    ok = out.feasible
    fit, dist = reach[ok], out.distance_km[ok]
    if len(fit) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return len(reach), fit, dist, np.zeros((0, 0)), np.zeros(0), empty
    X = loaded.model.features(pool.matrix, pool.encoded, prep, fit,
                              np.zeros(len(fit), dtype=np.int64), dist, ctx.ref)
    # Ties: the uncalibrated score, then the lower participant id (the pool is in id order).
    order, scores = loaded.model.two_stage(X, FIRST_STAGE_KEEP)
    return len(reach), fit, dist, X, scores, order[:k]
