"""The two rule engines agree: vectorised `ml.rules` against the plain `ml.rules_check`.

Random participants and slots around a handful of neighbouring kommuner in Gävleborg and
Uppsala län, with values drawn so that the rule limits are often hit exactly (same dates, hours
on a half-hour grid, the same-kommun default distance as a commute limit).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchning.domain.vocab import DRIVING_LICENCES, AdaptationNeed, SwedishLevel
from matchning.ml.catalog import SlotMatrix
from matchning.ml.rule_defs import PairHistory, RuleDay, RuleSettings
from matchning.ml.rules import evaluate_rules
from matchning.ml.rules_check import check_pair, pair_distance_km
from matchning.reference import get_reference

REF = get_reference()
TODAY = date(2025, 3, 10)
# Gävle, Sandviken, Älvkarleby, Söderhamn, Uppsala: all within ~150 km of each other.
KOMMUNER = ("2180", "2181", "0319", "2182", "0380")
LEVELS = tuple(lvl.value for lvl in SwedishLevel)
ADAPTATIONS = tuple(a.value for a in AdaptationNeed)
OCCUPATIONS = ("9621", "5120", "4112", "8332", "5321")
STATUSES = ("open", "open", "open", "paused", "closed")

hours = st.integers(10, 90).map(lambda half: half / 2)      # 5.0 .. 45.0 in steps of 0.5
maybe_hours = st.one_of(st.none(), hours)
licences = st.lists(st.sampled_from(DRIVING_LICENCES), max_size=3, unique=True)
# Day offsets from TODAY; the landmarks make end dates meet today and earliest starts often.
LANDMARKS = (-1, 0, 1, 29, 30, 31)
offsets = st.one_of(st.integers(-15, 200), st.sampled_from(LANDMARKS))


def as_date_or_iso(draw, day: date) -> date | str:
    return day.isoformat() if draw(st.booleans()) else day


def place(draw, missing: tuple[Any, ...]) -> dict[str, Any]:
    """A kommun and a point within 0.3 degrees of its centroid, no point, or half a point."""
    kommun = draw(st.sampled_from(KOMMUNER))
    centroid = REF.municipalities[kommun]
    near = st.floats(-0.3, 0.3, allow_nan=False)
    lat, lon = centroid.lat + draw(near), centroid.lon + draw(near)
    kind = draw(st.sampled_from(("point", "point", "point", "none", "half")))
    if kind == "none":
        lat = lon = draw(st.sampled_from(missing))
    elif kind == "half" and draw(st.booleans()):
        lat = draw(st.sampled_from(missing))
    elif kind == "half":
        lon = draw(st.sampled_from(missing))
    return {"kommunkod": kommun, "lat": lat, "lon": lon}


@st.composite
def profiles(draw) -> dict[str, Any]:
    earliest = draw(st.one_of(st.none(), st.integers(-30, 200), st.sampled_from(LANDMARKS)))
    return {
        **place(draw, (None,)),
        "max_commute_km": draw(st.one_of(
            st.sampled_from([0.0, 4.95, 5.0, 5.05, 10.0, 20.0, 30.0, 50.0]),
            st.floats(0.0, 120.0, allow_nan=False))),
        "driving_licences": draw(licences),
        "swedish_level": draw(st.sampled_from(LEVELS)),
        "max_hours_per_week": draw(maybe_hours),
        "earliest_start": (None if earliest is None
                           else as_date_or_iso(draw, TODAY + timedelta(days=earliest))),
        "adaptations": draw(st.lists(st.sampled_from(ADAPTATIONS), unique=True)),
        "own_car": draw(st.booleans()),
        "skills": [],
    }


@st.composite
def slot_records(draw, slot_id: int) -> dict[str, Any]:
    start = draw(st.one_of(st.integers(-60, 90), st.sampled_from([0, 59, 60, 61])))
    end = None if draw(st.integers(0, 4)) == 0 else max(start, draw(offsets))
    return {
        "id": slot_id,
        "employer_id": draw(st.integers(1, 6)),
        "status": draw(st.sampled_from(STATUSES)),
        "start_date": as_date_or_iso(draw, TODAY + timedelta(days=start)),
        "end_date": None if end is None else as_date_or_iso(draw, TODAY + timedelta(days=end)),
        "remaining": draw(st.integers(0, 3)),
        **place(draw, (None, math.nan)),
        "hours_per_week": draw(st.one_of(st.none(), st.just(math.nan), hours)),
        "driving_licences": draw(st.lists(st.sampled_from(DRIVING_LICENCES), max_size=2,
                                          unique=True)),
        "swedish_level": draw(st.one_of(st.none(), st.sampled_from(LEVELS))),
        "physical_demand": draw(st.sampled_from(("lätt", "medel", "tung"))),
        "accessible": draw(st.booleans()),
        # Not a rule input, but SlotMatrix.from_records needs it.
        "occupation_code": draw(st.sampled_from(OCCUPATIONS)),
    }


@st.composite
def cases(draw) -> tuple[dict[str, Any], list[dict[str, Any]], PairHistory, RuleDay]:
    profile = draw(profiles())
    ids = draw(st.lists(st.integers(1, 10_000), min_size=1, max_size=20, unique=True))
    slots = [draw(slot_records(slot_id)) for slot_id in ids]
    employers = sorted({s["employer_id"] for s in slots})
    history = PairHistory(
        blocked_slots=frozenset(draw(st.sets(st.sampled_from(ids)))),
        rejected_slots=frozenset(draw(st.sets(st.sampled_from(ids)))),
        aborted_employers=frozenset(draw(st.sets(st.sampled_from(employers)))),
    )
    rule_settings = draw(st.one_of(
        st.just(RuleSettings()),
        st.builds(RuleSettings,
                  start_horizon_days=st.sampled_from([14, 30, 60, 90]),
                  reduced_hours_max=st.sampled_from([20.0, 25.0, 30.0]),
                  same_kommun_km=st.sampled_from([2.0, 5.0, 10.0])),
    ))
    return profile, slots, history, RuleDay(today=TODAY, settings=rule_settings)


def assert_agree(profile, slots, history, day) -> None:
    out = evaluate_rules(profile, SlotMatrix.from_records(slots, REF), history, day, REF)
    assert len(out.feasible) == len(slots)
    for i, slot in enumerate(slots):
        expected = check_pair(profile, slot, history, day, REF)
        assert out.codes(i) == expected, (i, slot)
        assert bool(out.feasible[i]) == (not expected), (i, slot)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_engines_agree_on_random_pairs(case):
    assert_agree(*case)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.data())
def test_engines_agree_when_the_commute_limit_is_exactly_a_distance(case, data):
    """Equal distance passes in both engines, also when the distance comes from coordinates."""
    profile, slots, history, day = case
    chosen = data.draw(st.sampled_from(slots))
    profile = {**profile, "max_commute_km": pair_distance_km(profile, chosen, day, REF)}
    assert_agree(profile, slots, history, day)


def test_engines_agree_at_an_exact_distance_tie():
    """A tie the property test above rarely draws (about 1 in 10 000 exact ties disagree).

    The commute limit equals the distance `domain.geo.distance_km` gives (57.201591505907224),
    so the rule passes ("equal passes"). The vectorised haversine in `ml.geo` comes out one ulp
    larger (57.20159150590724): it squares with numpy (x*x) where `domain.geo` uses Python's
    `x ** 2` (C pow), which differ in the last bit for sin(dp/2) here.
    """
    profile = {
        "kommunkod": "2180", "lat": 60.97894971782711, "lon": 16.828957780818694,
        "driving_licences": [], "swedish_level": "A", "max_hours_per_week": None,
        "earliest_start": None, "adaptations": [],
    }
    slot = {
        "id": 6, "employer_id": 1, "status": "open", "start_date": TODAY, "end_date": None,
        "remaining": 1, "kommunkod": "2180", "lat": 60.538400749255864,
        "lon": 17.372717420158523, "hours_per_week": None, "driving_licences": [],
        "swedish_level": None, "physical_demand": "lätt", "accessible": True,
        "occupation_code": "9621",
    }
    day = RuleDay(today=TODAY)
    profile["max_commute_km"] = pair_distance_km(profile, slot, day, REF)
    assert check_pair(profile, slot, PairHistory(), day, REF) == []
    assert_agree(profile, [slot], PairHistory(), day)
