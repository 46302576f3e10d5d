"""The plain rule checker (ml.rules_check): every rule just inside and just outside its limit."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pytest

from matchning.domain.geo import haversine_km
from matchning.domain.vocab import SwedishLevel
from matchning.ml.rule_defs import (
    ACCESSIBLE_WORKPLACE,
    NO_HEAVY_LIFTING,
    REDUCED_HOURS,
    RULE_CODES,
    PairHistory,
    RuleDay,
    RuleSettings,
)
from matchning.ml.rules_check import check_pair, violations
from matchning.reference import get_reference

TODAY = date(2025, 3, 10)
DAY = RuleDay(today=TODAY)
NO_HISTORY = PairHistory()
HOME = (60.6700, 17.1400)   # a point in Gävle
WORK = (60.6900, 17.3000)   # another point in Gävle, about 9 km east


@pytest.fixture(scope="module")
def ref():
    return get_reference()


def make_profile(**changes: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "kommunkod": "2180", "lat": HOME[0], "lon": HOME[1], "max_commute_km": 30.0,
        "driving_licences": ["B"], "swedish_level": "C", "max_hours_per_week": 40.0,
        "earliest_start": None, "adaptations": [], "own_car": True, "skills": ["truckkort"],
    }
    profile.update(changes)
    return profile


def make_slot(**changes: Any) -> dict[str, Any]:
    slot: dict[str, Any] = {
        "id": 7, "employer_id": 3, "status": "open", "start_date": TODAY,
        "end_date": TODAY + timedelta(days=90), "remaining": 1, "kommunkod": "2180",
        "lat": WORK[0], "lon": WORK[1], "hours_per_week": 20.0, "driving_licences": [],
        "swedish_level": None, "physical_demand": "medel", "accessible": False,
    }
    slot.update(changes)
    return slot


def codes(ref, profile=None, slot=None, history=NO_HISTORY, day=DAY) -> list[str]:
    return check_pair(profile or make_profile(), slot or make_slot(), history, day, ref)


def test_base_pair_is_feasible(ref):
    assert codes(ref) == []


# --- 1 slot_not_open ----------------------------------------------------------------------

@pytest.mark.parametrize(("status", "expected"), [
    ("open", []), ("paused", ["slot_not_open"]), ("closed", ["slot_not_open"]),
])
def test_slot_not_open(ref, status, expected):
    assert codes(ref, slot=make_slot(status=status)) == expected


# --- 2 period_over --------------------------------------------------------------------------

@pytest.mark.parametrize(("end", "expected"), [
    (TODAY, []),
    (TODAY - timedelta(days=1), ["period_over"]),
    (None, []),
    (TODAY.isoformat(), []),
    ((TODAY - timedelta(days=1)).isoformat(), ["period_over"]),
])
def test_period_over(ref, end, expected):
    slot = make_slot(start_date=TODAY - timedelta(days=30), end_date=end)
    assert codes(ref, slot=slot) == expected


# --- 3 starts_too_late ----------------------------------------------------------------------

@pytest.mark.parametrize(("days", "expected"), [
    (60, []), (61, ["starts_too_late"]), (0, []), (-10, []),
])
def test_starts_too_late(ref, days, expected):
    start = TODAY + timedelta(days=days)
    slot = make_slot(start_date=start, end_date=start + timedelta(days=90))
    assert codes(ref, slot=slot) == expected


def test_starts_too_late_follows_the_setting_and_iso_strings(ref):
    day = RuleDay(today=TODAY, settings=RuleSettings(start_horizon_days=14))
    for days, expected in ((14, []), (15, ["starts_too_late"])):
        slot = make_slot(start_date=(TODAY + timedelta(days=days)).isoformat(),
                         end_date=(TODAY + timedelta(days=100)).isoformat())
        assert codes(ref, slot=slot, day=day) == expected


# --- 4 no_free_place ------------------------------------------------------------------------

@pytest.mark.parametrize(("remaining", "expected"), [
    (1, []), (3, []), (0, ["no_free_place"]), (-1, ["no_free_place"]),
])
def test_no_free_place(ref, remaining, expected):
    assert codes(ref, slot=make_slot(remaining=remaining)) == expected


# --- 5 too_far ------------------------------------------------------------------------------

def test_too_far_at_the_limit_passes_and_just_beyond_fails(ref):
    d = haversine_km(*HOME, *WORK)
    assert 5 < d < 15
    assert codes(ref, profile=make_profile(max_commute_km=d)) == []
    assert codes(ref, profile=make_profile(max_commute_km=d - 0.05)) == ["too_far"]


def test_too_far_across_kommun_border_with_points(ref):
    sandviken = (60.6200, 16.7800)
    d = haversine_km(*HOME, *sandviken)
    slot = make_slot(kommunkod="2181", lat=sandviken[0], lon=sandviken[1])
    assert codes(ref, profile=make_profile(max_commute_km=d), slot=slot) == []
    assert codes(ref, profile=make_profile(max_commute_km=d - 0.05), slot=slot) == ["too_far"]


def test_too_far_uses_kommun_centroid_when_slot_has_no_point(ref):
    sandviken = ref.municipalities["2181"]
    d = haversine_km(*HOME, sandviken.lat, sandviken.lon)
    slot = make_slot(kommunkod="2181", lat=None, lon=None)
    assert codes(ref, profile=make_profile(max_commute_km=d), slot=slot) == []
    assert codes(ref, profile=make_profile(max_commute_km=d - 0.05), slot=slot) == ["too_far"]


def test_too_far_uses_kommun_centroid_when_profile_has_no_point(ref):
    gavle = ref.municipalities["2180"]
    d = haversine_km(gavle.lat, gavle.lon, *WORK)
    profile = make_profile(lat=None, lon=None, max_commute_km=d)
    assert codes(ref, profile=profile) == []
    profile = make_profile(lat=None, lon=None, max_commute_km=d - 0.05)
    assert codes(ref, profile=profile) == ["too_far"]


def test_too_far_centroid_to_centroid_between_kommuner(ref):
    a, b = ref.municipalities["2180"], ref.municipalities["2181"]
    d = haversine_km(a.lat, a.lon, b.lat, b.lon)
    slot = make_slot(kommunkod="2181", lat=None, lon=None)
    for limit, expected in ((d, []), (d - 0.05, ["too_far"])):
        profile = make_profile(lat=None, lon=None, max_commute_km=limit)
        assert codes(ref, profile=profile, slot=slot) == expected


def test_too_far_same_kommun_without_points_uses_the_default(ref):
    slot = make_slot(lat=None, lon=None)
    for limit, expected in ((5.0, []), (4.95, ["too_far"])):
        profile = make_profile(lat=None, lon=None, max_commute_km=limit)
        assert codes(ref, profile=profile, slot=slot) == expected
    day = RuleDay(today=TODAY, settings=RuleSettings(same_kommun_km=2.0))
    for limit, expected in ((2.0, []), (1.95, ["too_far"])):
        profile = make_profile(lat=None, lon=None, max_commute_km=limit)
        assert codes(ref, profile=profile, slot=slot, day=day) == expected


def test_too_far_same_kommun_with_one_point_uses_the_centroid_not_the_default(ref):
    gavle = ref.municipalities["2180"]
    d = haversine_km(*HOME, gavle.lat, gavle.lon)
    assert abs(d - 5.0) > 0.1
    slot = make_slot(lat=None, lon=None)
    assert codes(ref, profile=make_profile(max_commute_km=d), slot=slot) == []
    assert codes(ref, profile=make_profile(max_commute_km=d - 0.05), slot=slot) == ["too_far"]


def test_too_far_treats_nan_and_half_points_as_missing(ref):
    sandviken = ref.municipalities["2181"]
    d = haversine_km(*HOME, sandviken.lat, sandviken.lon)
    profile = make_profile(max_commute_km=d)
    for lat, lon in ((math.nan, math.nan), (None, WORK[1]), (WORK[0], math.nan)):
        slot = make_slot(kommunkod="2181", lat=lat, lon=lon)
        assert codes(ref, profile=profile, slot=slot) == []
        assert codes(ref, profile=make_profile(max_commute_km=d - 0.05),
                     slot=slot) == ["too_far"]


# --- 6 driving_licence ----------------------------------------------------------------------

@pytest.mark.parametrize(("held", "required", "expected"), [
    (["B"], ["B"], []),
    (["C"], ["B"], []),             # C covers B
    (["B"], ["C"], ["driving_licence"]),
    (["CE"], ["C", "BE"], []),
    (["C"], ["C", "BE"], ["driving_licence"]),
    (["B"], ["AM"], []),
    ([], ["B"], ["driving_licence"]),
    ([], [], []),
    (["A", "B"], ["A2", "B"], []),
    (["A2"], ["A"], ["driving_licence"]),
])
def test_driving_licence(ref, held, required, expected):
    profile = make_profile(driving_licences=held)
    assert codes(ref, profile=profile, slot=make_slot(driving_licences=required)) == expected


# --- 7 swedish_level ------------------------------------------------------------------------

LEVELS = list(SwedishLevel)


@pytest.mark.parametrize("i", range(len(LEVELS)))
def test_swedish_level_equal_passes(ref, i):
    profile = make_profile(swedish_level=LEVELS[i].value)
    assert codes(ref, profile=profile, slot=make_slot(swedish_level=LEVELS[i].value)) == []


@pytest.mark.parametrize("i", range(len(LEVELS) - 1))
def test_swedish_level_one_rank_higher_fails(ref, i):
    profile = make_profile(swedish_level=LEVELS[i].value)
    slot = make_slot(swedish_level=LEVELS[i + 1].value)
    assert codes(ref, profile=profile, slot=slot) == ["swedish_level"]
    # and the other way round (participant above the requirement) passes
    profile = make_profile(swedish_level=LEVELS[i + 1].value)
    assert codes(ref, profile=profile, slot=make_slot(swedish_level=LEVELS[i].value)) == []


def test_swedish_level_not_required_passes(ref):
    assert codes(ref, profile=make_profile(swedish_level="A"),
                 slot=make_slot(swedish_level=None)) == []
    assert codes(ref, profile=make_profile(swedish_level="A"),
                 slot=make_slot(swedish_level=math.nan)) == []


def test_swedish_level_order_is_sfi_then_fluent_then_native(ref):
    profile = make_profile(swedish_level="D")
    assert codes(ref, profile=profile, slot=make_slot(swedish_level="flytande")) == [
        "swedish_level"]
    profile = make_profile(swedish_level="flytande")
    assert codes(ref, profile=profile, slot=make_slot(swedish_level="modersmål")) == [
        "swedish_level"]


# --- 8 physical_demand ----------------------------------------------------------------------

@pytest.mark.parametrize(("adaptations", "demand", "expected"), [
    ([NO_HEAVY_LIFTING], "tung", ["physical_demand"]),
    ([NO_HEAVY_LIFTING], "medel", []),
    ([NO_HEAVY_LIFTING], "lätt", []),
    ([], "tung", []),
    ([ACCESSIBLE_WORKPLACE], "tung", []),
])
def test_physical_demand(ref, adaptations, demand, expected):
    profile = make_profile(adaptations=adaptations)
    slot = make_slot(physical_demand=demand, accessible=True)
    assert codes(ref, profile=profile, slot=slot) == expected


# --- 9 not_accessible -----------------------------------------------------------------------

@pytest.mark.parametrize(("adaptations", "accessible", "expected"), [
    ([ACCESSIBLE_WORKPLACE], False, ["not_accessible"]),
    ([ACCESSIBLE_WORKPLACE], True, []),
    ([], False, []),
    ([NO_HEAVY_LIFTING], False, []),
])
def test_not_accessible(ref, adaptations, accessible, expected):
    profile = make_profile(adaptations=adaptations)
    assert codes(ref, profile=profile, slot=make_slot(accessible=accessible)) == expected


# --- 10 too_many_hours ----------------------------------------------------------------------

@pytest.mark.parametrize(("max_hours", "adaptations", "hours", "expected"), [
    (40.0, [], 40.0, []),
    (40.0, [], 40.5, ["too_many_hours"]),
    (20.0, [], 20.0, []),
    (20.0, [], 20.5, ["too_many_hours"]),
    (40.0, [REDUCED_HOURS], 30.0, []),               # reduced hours cap (30) is the lower
    (40.0, [REDUCED_HOURS], 30.5, ["too_many_hours"]),
    (25.0, [REDUCED_HOURS], 25.0, []),               # own limit (25) is the lower
    (25.0, [REDUCED_HOURS], 25.5, ["too_many_hours"]),
    (None, [REDUCED_HOURS], 30.0, []),
    (None, [REDUCED_HOURS], 30.5, ["too_many_hours"]),
    (None, [], 60.0, []),                            # no limit applies
    (10.0, [], None, []),                            # slot hours unknown
    (10.0, [], math.nan, []),
    (math.nan, [], 60.0, []),
])
def test_too_many_hours(ref, max_hours, adaptations, hours, expected):
    profile = make_profile(max_hours_per_week=max_hours, adaptations=adaptations)
    assert codes(ref, profile=profile, slot=make_slot(hours_per_week=hours)) == expected


def test_too_many_hours_follows_the_reduced_hours_setting(ref):
    day = RuleDay(today=TODAY, settings=RuleSettings(reduced_hours_max=20.0))
    profile = make_profile(max_hours_per_week=None, adaptations=[REDUCED_HOURS])
    assert codes(ref, profile=profile, slot=make_slot(hours_per_week=20.0), day=day) == []
    assert codes(ref, profile=profile, slot=make_slot(hours_per_week=20.5), day=day) == [
        "too_many_hours"]


# --- 11 ends_before_start -------------------------------------------------------------------

EARLIEST = TODAY + timedelta(days=20)


@pytest.mark.parametrize(("earliest", "end", "expected"), [
    (EARLIEST, EARLIEST, []),
    (EARLIEST, EARLIEST - timedelta(days=1), ["ends_before_start"]),
    (EARLIEST.isoformat(), EARLIEST.isoformat(), []),
    (EARLIEST.isoformat(), (EARLIEST - timedelta(days=1)).isoformat(), ["ends_before_start"]),
    (None, EARLIEST - timedelta(days=1), []),
    (EARLIEST, None, []),
    (TODAY - timedelta(days=5), TODAY, []),
])
def test_ends_before_start(ref, earliest, end, expected):
    profile = make_profile(earliest_start=earliest)
    assert codes(ref, profile=profile, slot=make_slot(end_date=end)) == expected


# --- 12-14 history --------------------------------------------------------------------------

@pytest.mark.parametrize(("history", "expected"), [
    (PairHistory(blocked_slots=frozenset({7})), ["already_proposed"]),
    (PairHistory(blocked_slots=frozenset({8})), []),
    (PairHistory(rejected_slots=frozenset({7})), ["not_suitable"]),
    (PairHistory(rejected_slots=frozenset({8})), []),
    (PairHistory(aborted_employers=frozenset({3})), ["recent_abort"]),
    (PairHistory(aborted_employers=frozenset({7})), []),   # slot id is not an employer id
    (PairHistory(blocked_slots=frozenset({3})), []),       # employer id is not a slot id
    (PairHistory(frozenset({7}), frozenset({7}), frozenset({3})),
     ["already_proposed", "not_suitable", "recent_abort"]),
])
def test_history_rules(ref, history, expected):
    assert codes(ref, history=history) == expected


# --- several rules at once, and the count -------------------------------------------------

def test_every_rule_at_once_comes_back_in_rule_order(ref):
    profile = make_profile(
        max_commute_km=1.0, driving_licences=[], swedish_level="A", max_hours_per_week=10.0,
        earliest_start=TODAY + timedelta(days=200),
        adaptations=[NO_HEAVY_LIFTING, ACCESSIBLE_WORKPLACE],
    )
    slot = make_slot(
        status="paused", start_date=TODAY + timedelta(days=90),
        end_date=TODAY - timedelta(days=1), remaining=0, driving_licences=["B"],
        swedish_level="D", physical_demand="tung", accessible=False, hours_per_week=40.0,
    )
    history = PairHistory(frozenset({7}), frozenset({7}), frozenset({3}))
    assert codes(ref, profile=profile, slot=slot, history=history) == list(RULE_CODES)


def test_violations_counts_pairs_with_any_broken_rule(ref):
    pairs = [
        (make_profile(), make_slot(), NO_HISTORY, DAY),
        (make_profile(), make_slot(status="closed", remaining=0), NO_HISTORY, DAY),
        (make_profile(), make_slot(), PairHistory(rejected_slots=frozenset({7})), DAY),
        (make_profile(max_commute_km=40.0), make_slot(hours_per_week=40.0), NO_HISTORY, DAY),
    ]
    assert violations(pairs, ref) == 2
    assert violations(iter(pairs), ref) == 2
    assert violations([], ref) == 0


def test_checker_does_not_import_the_vectorised_engine():
    import ast
    import inspect

    from matchning.ml import rules_check

    tree = ast.parse(inspect.getsource(rules_check))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
    assert "matchning.ml.rules" not in imported
    assert "matchning.ml.catalog" not in imported
