"""The hard rules, checked plainly one pair at a time.

This is the second, independent implementation of the rules in `ml.rule_defs` (the first is the
vectorised `ml.rules`, which this module must never import). It is deliberately slow and
obvious: each rule is one readable condition, so the tests can trust it and compare the fast
engine against it, and `evaluate` can count rule violations in proposed placements.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from matchning.domain.geo import distance_km
from matchning.domain.vocab import SwedishLevel
from matchning.ml.rule_defs import (
    ACCESSIBLE_WORKPLACE,
    HEAVY,
    NO_HEAVY_LIFTING,
    REDUCED_HOURS,
    RULE_CODES,
    PairHistory,
    RuleDay,
    licences_held,
)
from matchning.reference import ReferenceData

# --- small helpers for the loose input formats --------------------------------------------


def _missing(value: Any) -> bool:
    """None, or a float NaN (what a data frame holds for a missing number)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def _day(value: Any) -> date | None:
    """A date from a date, a datetime or an ISO string; None stays None."""
    if _missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _point(lat: Any, lon: Any) -> tuple[float, float] | None:
    """(lat, lon) only when both are known."""
    lat, lon = _number(lat), _number(lon)
    if lat is None or lon is None:
        return None
    return (lat, lon)


def _words(value: Any) -> list[str]:
    return [] if _missing(value) else list(value)


def _swedish_rank(value: Any) -> int:
    """Rank of a Swedish level; no level recorded ranks below A."""
    return -1 if _missing(value) else SwedishLevel(value).rank


def _hours_limit(profile: Mapping[str, Any], day: RuleDay) -> float | None:
    """The lowest of the weekly hour limits that apply to the participant, or None."""
    limits: list[float] = []
    own = _number(profile.get("max_hours_per_week"))
    if own is not None:
        limits.append(own)
    if REDUCED_HOURS in _words(profile.get("adaptations")):
        limits.append(day.settings.reduced_hours_max)
    return min(limits) if limits else None


def pair_distance_km(profile: Mapping[str, Any], slot: Mapping[str, Any],
                     day: RuleDay, ref: ReferenceData) -> float:
    """Distance between the participant's home and the workplace, as the rules see it."""
    return distance_km(
        ref,
        str(profile["kommunkod"]), _point(profile.get("lat"), profile.get("lon")),
        str(slot["kommunkod"]), _point(slot.get("lat"), slot.get("lon")),
        day.settings.same_kommun_km,
    )


# --- the rules ------------------------------------------------------------------------------


def check_pair(profile: Mapping[str, Any], slot: Mapping[str, Any], history: PairHistory,
               day: RuleDay, ref: ReferenceData) -> list[str]:
    """Codes of every hard rule the pair breaks, in RULE_CODES order; [] when feasible."""
    today = day.today
    settings = day.settings
    adaptations = _words(profile.get("adaptations"))
    start = _day(slot["start_date"])
    end = _day(slot.get("end_date"))
    earliest = _day(profile.get("earliest_start"))
    slot_hours = _number(slot.get("hours_per_week"))
    hours_limit = _hours_limit(profile, day)
    missing_licences = set(_words(slot.get("driving_licences"))) - licences_held(
        _words(profile.get("driving_licences")))
    slot_level = slot.get("swedish_level")

    broken = {
        "slot_not_open": slot["status"] != "open",
        "period_over": end is not None and end < today,
        "starts_too_late": start > today + timedelta(days=settings.start_horizon_days),
        "no_free_place": slot["remaining"] <= 0,
        "too_far": pair_distance_km(profile, slot, day, ref) > float(profile["max_commute_km"]),
        "driving_licence": bool(missing_licences),
        "swedish_level": (not _missing(slot_level)
                          and _swedish_rank(slot_level) > _swedish_rank(
                              profile.get("swedish_level"))),
        "physical_demand": NO_HEAVY_LIFTING in adaptations and slot["physical_demand"] == HEAVY,
        "not_accessible": ACCESSIBLE_WORKPLACE in adaptations and not slot["accessible"],
        "too_many_hours": (slot_hours is not None and hours_limit is not None
                           and slot_hours > hours_limit),
        "ends_before_start": earliest is not None and end is not None and end < earliest,
        "already_proposed": slot["id"] in history.blocked_slots,
        "not_suitable": slot["id"] in history.rejected_slots,
        "recent_abort": slot["employer_id"] in history.aborted_employers,
    }
    return [code for code in RULE_CODES if broken[code]]


def violations(pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any], PairHistory, RuleDay]],
               ref: ReferenceData) -> int:
    """How many (profile, slot, history, day) pairs break at least one hard rule."""
    return sum(1 for profile, slot, history, day in pairs
               if check_pair(profile, slot, history, day, ref))
