"""Pruning by reach never loses a feasible slot: `feasible_slots` equals the full rules."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matchning.ml.catalog import SlotMatrix
from matchning.ml.rule_defs import PairHistory, RuleDay, RuleSettings
from matchning.ml.rules import evaluate_rules, feasible_slots
from matchning.reference import get_reference

REF = get_reference()
# Near one another, far apart, one huge (Kiruna) and one tiny (Sundbyberg).
KOMMUNER = ("2180", "2181", "0319", "0380", "0180", "0183", "2584", "1480", "1280", "2480")
DAY = RuleDay(date(2026, 11, 1))


def _point(rng: np.random.Generator, kommun: str, spread: float):
    if rng.random() < 0.3:
        return None, None
    m = REF.municipalities[kommun]
    return m.lat + rng.uniform(-spread, spread), m.lon + rng.uniform(-2 * spread, 2 * spread)


def _slots(rng: np.random.Generator, n: int) -> SlotMatrix:
    recs = []
    for i in range(n):
        kommun = str(rng.choice(KOMMUNER))
        lat, lon = _point(rng, kommun, 0.6 if kommun == "2584" else 0.15)
        # Some slots fail the rules of the slot and the day alone: paused, over, starting
        # too late, full (`SlotMatrix.available`).
        status = "paused" if rng.random() < 0.1 else "open"
        start = str(rng.choice(["2026-10-01", "2026-11-01", "2026-12-31", "2027-03-01"]))
        end = rng.choice([None, "2026-10-31", "2026-11-01", "2027-06-30"])
        recs.append({"id": i + 1, "employer_id": 1 + i % 7, "status": status,
                     "start_date": start, "end_date": end, "remaining": int(rng.integers(0, 3)),
                     "kommunkod": kommun, "lat": lat, "lon": lon, "hours_per_week": None,
                     "driving_licences": [], "swedish_level": None, "physical_demand": "lätt",
                     "accessible": True, "occupation_code": "9621"})
    return SlotMatrix.from_records(recs, REF)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), commute=st.sampled_from([0.0, 3.0, 10.0, 30.0, 80.0,
                                                               250.0]))
def test_reach_pruning_is_exact(seed: int, commute: float) -> None:
    rng = np.random.default_rng(seed)
    slots = _slots(rng, 300).indexed()
    kommun = str(rng.choice(KOMMUNER))
    lat, lon = _point(rng, kommun, 0.15)
    profile = {"kommunkod": kommun, "lat": lat, "lon": lon, "max_commute_km": commute,
               "driving_licences": [], "swedish_level": "D", "adaptations": [],
               "max_hours_per_week": None, "earliest_start": None}
    full = evaluate_rules(profile, slots, PairHistory(), DAY, REF)
    fast = feasible_slots(profile, slots, PairHistory(), DAY, REF)
    assert fast.idx.tolist() == np.flatnonzero(full.feasible).tolist()
    assert np.allclose(fast.distance_km, full.distance_km[full.feasible])
    assert fast.checked <= len(slots)
    # Once more with the catalogue's mask for the day cached, and for another horizon.
    assert feasible_slots(profile, slots, PairHistory(), DAY, REF).idx.tolist() == fast.idx.tolist()
    later = RuleDay(date(2026, 11, 1), RuleSettings(start_horizon_days=200))
    assert feasible_slots(profile, slots, PairHistory(), later, REF).idx.tolist() == \
        np.flatnonzero(evaluate_rules(profile, slots, PairHistory(), later, REF).feasible).tolist()
