"""The hard rules, vectorised over all slots at once (see `rule_defs` for what they mean).

`ml.rules_check` implements the same rules row by row, independently; the tests and
`evaluate` hold the two against each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from matchning.ml.catalog import SlotMatrix, licence_mask, swedish_rank
from matchning.ml.dates import FAR_PAST, day_number
from matchning.ml.geo import pair_distance_km, resolve_points
from matchning.ml.profiles import ProfileMatrix
from matchning.ml.rule_defs import (
    ACCESSIBLE_WORKPLACE,
    NO_HEAVY_LIFTING,
    REDUCED_HOURS,
    RULE_CODES,
    RULES,
    PairHistory,
    RuleDay,
    licences_held,
)
from matchning.reference import ReferenceData

BIT = {code: 1 << i for i, code in enumerate(RULE_CODES)}


@dataclass
class RuleOutcome:
    failed: np.ndarray       # bit mask per slot over RULE_CODES (0 = feasible)
    distance_km: np.ndarray  # participant to each slot

    @property
    def feasible(self) -> np.ndarray:
        return self.failed == 0

    def codes(self, i: int) -> list[str]:
        mask = int(self.failed[i])
        return [code for code in RULE_CODES if mask & BIT[code]]

    def reasons(self, i: int) -> list[dict[str, str]]:
        return [{"code": c, "text": RULES[c]} for c in self.codes(i)]


def profile_point(profile: Mapping[str, Any], ref: ReferenceData
                  ) -> tuple[float, float, bool]:
    lat, lon, has = resolve_points(
        ref, [profile["kommunkod"]],
        [np.nan if profile.get("lat") is None else profile["lat"]],
        [np.nan if profile.get("lon") is None else profile["lon"]])
    return float(lat[0]), float(lon[0]), bool(has[0])


def hours_limit(profile: Mapping[str, Any], reduced_hours_max: float) -> float:
    limits = []
    if profile.get("max_hours_per_week") is not None:
        limits.append(float(profile["max_hours_per_week"]))
    if REDUCED_HOURS in (profile.get("adaptations") or ()):
        limits.append(reduced_hours_max)
    return min(limits) if limits else np.inf


def evaluate_rules(profile: Mapping[str, Any], slots: SlotMatrix, history: PairHistory,
                   day: RuleDay, ref: ReferenceData,
                   distance_km: np.ndarray | None = None) -> RuleOutcome:
    """Every rule for one participant against every slot."""
    s = day.settings
    today = day_number(day.today, 0)
    if distance_km is None:
        lat, lon, has = profile_point(profile, ref)
        distance_km = pair_distance_km(lat, lon, has, profile["kommunkod"], slots.lat,
                                       slots.lon, slots.has_point, slots.kommun,
                                       s.same_kommun_km)
    adapt = set(profile.get("adaptations") or ())
    held = licence_mask(sorted(licences_held(profile.get("driving_licences"))))
    earliest = day_number(profile.get("earliest_start"), FAR_PAST)
    limit = hours_limit(profile, s.reduced_hours_max)
    checks = {
        "slot_not_open": ~slots.is_open,
        "period_over": slots.end < today,
        "starts_too_late": slots.start > today + s.start_horizon_days,
        "no_free_place": slots.remaining <= 0,
        "too_far": distance_km > float(profile["max_commute_km"]),
        "driving_licence": (slots.licences & ~held) != 0,
        "swedish_level": slots.swedish > swedish_rank(profile["swedish_level"]),
        "physical_demand": (slots.demand == 2) & (NO_HEAVY_LIFTING in adapt),
        "not_accessible": ~slots.accessible & (ACCESSIBLE_WORKPLACE in adapt),
        "too_many_hours": ~np.isnan(slots.hours) & (np.nan_to_num(slots.hours) > limit),
        "ends_before_start": slots.end < earliest,
        "already_proposed": _member(slots.ids, history.blocked_slots),
        "not_suitable": _member(slots.ids, history.rejected_slots),
        "recent_abort": _member(slots.employer, history.aborted_employers),
    }
    failed = np.zeros(len(slots), dtype=np.int64)
    for code, broken in checks.items():
        failed |= np.where(broken, BIT[code], 0)
    return RuleOutcome(failed=failed, distance_km=np.asarray(distance_km, dtype=float))


def _member(values: np.ndarray, members: frozenset[int]) -> np.ndarray:
    if not members:
        return np.zeros(len(values), dtype=bool)
    return np.isin(values, np.fromiter(members, dtype=np.int64, count=len(members)))


@dataclass
class Feasible:
    """The feasible slots (indices into the full catalogue) and their distances."""

    idx: np.ndarray
    distance_km: np.ndarray
    checked: int  # slots within reach, on which the rules ran


def feasible_slots(profile: Mapping[str, Any], slots: SlotMatrix, history: PairHistory,
                   day: RuleDay, ref: ReferenceData) -> Feasible:
    """The rules on the slots the participant can reach only (the others are too far by the
    commute rule anyway): the same answer as `evaluate_rules`, at the cost of the reach."""
    lat, lon, _ = profile_point(profile, ref)
    reach = slots.reachable(lat, lon, float(profile["max_commute_km"]))
    out = evaluate_rules(profile, slots.take(reach), history, day, ref)
    ok = out.feasible
    return Feasible(reach[ok], out.distance_km[ok], len(reach))


def evaluate_rules_for_slot(profiles: list[Mapping[str, Any]], slot: SlotMatrix,
                            histories: list[PairHistory], day: RuleDay,
                            ref: ReferenceData) -> RuleOutcome:
    """Every rule for one slot (`slot` holds exactly one) against many participants: the same
    rules as `evaluate_rules`, vectorised the other way (one row per profile)."""
    assert len(slot) == 1, "one slot at a time"
    s = day.settings
    n = len(profiles)
    today = day_number(day.today, 0)
    P = ProfileMatrix.from_records(profiles, ref)
    dist = pair_distance_km(P.lat, P.lon, P.has_point, P.kommun, slot.lat[0], slot.lon[0],
                            slot.has_point[0], slot.kommun[0], s.same_kommun_km)
    adapt = [set(p.get("adaptations") or ()) for p in profiles]
    held = np.array([licence_mask(sorted(licences_held(p.get("driving_licences"))))
                     for p in profiles], dtype=np.int64)
    earliest = np.array([day_number(p.get("earliest_start"), FAR_PAST) for p in profiles],
                        dtype=np.int64)
    limit = np.array([hours_limit(p, s.reduced_hours_max) for p in profiles], dtype=float)
    hours = slot.hours[0]
    sid, emp = int(slot.ids[0]), int(slot.employer[0])
    one = lambda flag: np.full(n, bool(flag))  # noqa: E731 - a slot-only rule, per profile
    checks = {
        "slot_not_open": one(not slot.is_open[0]),
        "period_over": one(slot.end[0] < today),
        "starts_too_late": one(slot.start[0] > today + s.start_horizon_days),
        "no_free_place": one(slot.remaining[0] <= 0),
        "too_far": dist > P.commute,
        "driving_licence": (int(slot.licences[0]) & ~held) != 0,
        "swedish_level": slot.swedish[0] > P.swedish,
        "physical_demand": np.array([slot.demand[0] == 2 and NO_HEAVY_LIFTING in a
                                     for a in adapt], dtype=bool),
        "not_accessible": np.array([not slot.accessible[0] and ACCESSIBLE_WORKPLACE in a
                                    for a in adapt], dtype=bool),
        "too_many_hours": (~np.isnan(limit) & (not np.isnan(hours))
                           & (np.nan_to_num(hours) > limit)),
        "ends_before_start": slot.end[0] < earliest,
        "already_proposed": np.array([sid in h.blocked_slots for h in histories], dtype=bool),
        "not_suitable": np.array([sid in h.rejected_slots for h in histories], dtype=bool),
        "recent_abort": np.array([emp in h.aborted_employers for h in histories], dtype=bool),
    }
    failed = np.zeros(n, dtype=np.int64)
    for code, broken in checks.items():
        failed |= np.where(broken, BIT[code], 0)
    return RuleOutcome(failed=failed, distance_km=np.asarray(dist, dtype=float))
