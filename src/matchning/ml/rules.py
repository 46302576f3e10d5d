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
    RuleSettings,
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
    commute rule anyway) that are available that day: the same answer as `evaluate_rules`,
    at the cost of the reach."""
    lat, lon, _ = profile_point(profile, ref)
    reach = slots.reachable(lat, lon, float(profile["max_commute_km"]))
    # The rules that read only the slot and the day come from the catalogue's mask for the
    # day: the other rules then run on the slots still available only.
    idx = reach[slots.available(day_number(day.today, 0),
                                day.settings.start_horizon_days)[reach]]
    out = evaluate_rules(profile, slots.take(idx, records=False), history, day, ref)
    ok = out.feasible
    return Feasible(idx[ok], out.distance_km[ok], len(reach))


def evaluate_rules_for_slot(profiles: list[Mapping[str, Any]], slot: SlotMatrix,
                            histories: list[PairHistory], day: RuleDay,
                            ref: ReferenceData) -> RuleOutcome:
    """Every rule for one slot (`slot` holds exactly one) against many participants: the same
    rules as `evaluate_rules`, vectorised the other way (one row per profile)."""
    assert len(slot) == 1, "one slot at a time"
    sid, emp = int(slot.ids[0]), int(slot.employer[0])
    return rules_for_slot(
        ProfileMatrix.from_records(profiles, ref), slot, day,
        blocked=np.array([sid in h.blocked_slots for h in histories], dtype=bool),
        rejected=np.array([sid in h.rejected_slots for h in histories], dtype=bool),
        aborted=np.array([emp in h.aborted_employers for h in histories], dtype=bool))


def rules_for_slot(P: ProfileMatrix, slot: SlotMatrix, day: RuleDay, *, blocked: np.ndarray,
                   rejected: np.ndarray, aborted: np.ndarray) -> RuleOutcome:
    """`evaluate_rules_for_slot` on profiles already in arrays (a worker's cached matrix);
    `blocked` / `rejected` / `aborted` say per profile whether its history holds this slot
    (an earlier placement, a "passar inte") or a recent abort at its employer."""
    assert len(slot) == 1, "one slot at a time"
    n = len(P)
    return rules_for_pairs(P, slot, np.arange(n), np.zeros(n, dtype=np.int64),
                           day_number(day.today, 0), day.settings, blocked=blocked,
                           rejected=rejected, aborted=aborted)


def rules_for_pairs(P: ProfileMatrix, S: SlotMatrix, pi: np.ndarray, si: np.ndarray,
                    today: int | np.ndarray, s: RuleSettings, *, blocked: np.ndarray,
                    rejected: np.ndarray, aborted: np.ndarray,
                    remaining: np.ndarray | None = None) -> RuleOutcome:
    """Every rule for the pairs (profile pi[k], slot si[k]), each judged on its own day
    (`today`: a day number, or one per pair): the engine behind the reverse direction and
    the sampled negatives (many participants, many days). `blocked` / `rejected` /
    `aborted` are per pair, as in `rules_for_slot`; `remaining`, per pair, replaces the
    slots' free places (the places free on each pair's day)."""
    n = len(pi)
    today = np.asarray(today)
    dist = pair_distance_km(P.lat[pi], P.lon[pi], P.has_point[pi], P.kommun[pi], S.lat[si],
                            S.lon[si], S.has_point[si], S.kommun[si], s.same_kommun_km)
    limit = P.hours_limit(s.reduced_hours_max)[pi]
    hours = S.hours[si]
    checks = {
        "slot_not_open": ~S.is_open[si],
        "period_over": S.end[si] < today,
        "starts_too_late": S.start[si] > today + s.start_horizon_days,
        "no_free_place": (S.remaining[si] if remaining is None else remaining) <= 0,
        "too_far": dist > P.commute[pi],
        "driving_licence": (S.licences[si] & ~P.licences[pi]) != 0,
        "swedish_level": S.swedish[si] > P.swedish[pi],
        "physical_demand": P.no_heavy[pi] & (S.demand[si] == 2),
        "not_accessible": P.accessible[pi] & ~S.accessible[si],
        "too_many_hours": ~np.isnan(hours) & (np.nan_to_num(hours) > limit),
        "ends_before_start": S.end[si] < P.earliest[pi],
        "already_proposed": np.asarray(blocked, dtype=bool),
        "not_suitable": np.asarray(rejected, dtype=bool),
        "recent_abort": np.asarray(aborted, dtype=bool),
    }
    failed = np.zeros(n, dtype=np.int64)
    for code, broken in checks.items():
        failed |= np.where(broken, BIT[code], 0)
    return RuleOutcome(failed=failed, distance_km=np.asarray(dist, dtype=float))
