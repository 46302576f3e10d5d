"""Reasons for a pair come from the fitted model: changing one feature of the pair changes them.

A small model is fitted on synthetic history where a placement succeeds mostly when the slot
is a wished occupation and close to home.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from matchning.ml.catalog import SlotMatrix
from matchning.ml.features import COLUMN, GROUPS
from matchning.ml.geo import haversine_km
from matchning.ml.model import fit_model, pair_distances
from matchning.ml.profiles import ProfileMatrix
from matchning.ml.reasons import MAX_REASONS, MIN_EFFECT, REASON_GROUPS, contributions, reasons
from matchning.reference import get_reference

REF = get_reference()
OCCUPATIONS = ("4321", "5120", "9622", "5321", "9111", "4322")
HOME = (59.33, 18.06)
COMMUTE_KM = 50


def make_slot(slot_id: int, occupation: str, lat: float, lon: float, employer: int) -> dict:
    return {"id": slot_id, "external_id": None, "employer_id": employer,
            "employer_name": f"Arbetsgivare {employer}", "sector": "privat",
            "size_band": "10-49", "title": REF.occupation_label(occupation),
            "description": "Praktik på arbetsplatsen.", "occupation_code": occupation,
            "required_skills": ["Truckkort"], "nice_skills": [], "kommunkod": "0180",
            "lat": lat, "lon": lon, "capacity": 1, "remaining": 1, "hours_per_week": 40,
            "start_date": "2024-01-01", "end_date": None, "driving_licences": [],
            "swedish_level": None, "physical_demand": "lätt", "accessible": True,
            "supervisor": True, "may_lead_to_job": False, "status": "open"}


def make_profile(wished: list[str], lat: float, lon: float) -> dict:
    return {"kommunkod": "0180", "lat": lat, "lon": lon, "max_commute_km": COMMUTE_KM,
            "driving_licences": [], "own_car": False, "swedish_level": "D",
            "other_languages": [], "education_level": 2, "wished_occupations": wished,
            "past_work": [], "skills": ["Städning"], "profile_text": "Söker praktik.",
            "max_hours_per_week": 40, "earliest_start": None, "needs_supervisor": False,
            "adaptations": []}


def synthetic_history(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, dict[int, dict]]:
    rng = np.random.default_rng(seed)
    near = lambda: (HOME[0] + rng.uniform(-0.1, 0.1), HOME[1] + rng.uniform(-0.2, 0.2))  # noqa: E731
    slots = {}
    for i in range(40):
        lat, lon = near()
        slots[1000 + i] = make_slot(1000 + i, OCCUPATIONS[i % 6], lat, lon, 1 + i % 8)
    rows = []
    for k in range(n):
        slot = slots[1000 + int(rng.integers(len(slots)))]
        wished = [str(c) for c in rng.choice(OCCUPATIONS, 2, replace=False)]
        lat, lon = near()
        dist = float(haversine_km(lat, lon, slot["lat"], slot["lon"]))
        match = slot["occupation_code"] in wished
        p = 1 / (1 + np.exp(-(-1.0 + 4.0 * match - 0.3 * (dist - 8.0))))
        label = int(rng.random() < p)
        rows.append({"participant_id": k, "slot_id": slot["id"],
                     "employer_id": slot["employer_id"], "placement_id": k + 1,
                     "day": 19_000 + k, "known_day": 19_010 + k, "label": label,
                     "grade": label, "job": 0, "snapshot": make_profile(wished, lat, lon),
                     "source": "placement"})
    return pd.DataFrame(rows), slots


@pytest.fixture(scope="module")
def model():
    rows, slots = synthetic_history()
    assert 0.15 < rows["label"].mean() < 0.85
    return fit_model(rows, slots, REF)


PROFILE = make_profile(["5120"], *HOME)
# Another occupation than the wished one, about 0.6 km from home.
BASE_SLOT = make_slot(1, "9111", HOME[0] + 0.005, HOME[1] + 0.005, 3)


def explain(model, slot, profile=PROFILE):
    P = ProfileMatrix.from_records([profile], REF)
    S = SlotMatrix.from_records([slot], REF)
    pi = si = np.array([0])
    dist = pair_distances(P, S, pi, si, model.same_kommun_km)
    X = model.features(P, model.encode_profiles(P), model.prepare(S), pi, si, dist, REF)
    effect = contributions(model, X)
    return X, effect, reasons(X[0], effect[0], slot, profile, REF.occupation_label)


def by_code(found):
    return {r["code"]: r for r in found}


def test_reasons_are_well_formed(model):
    _, effect, found = explain(model, BASE_SLOT)
    assert effect.shape == (1, len(REASON_GROUPS))
    assert "person" not in REASON_GROUPS
    assert 0 < len(found) <= MAX_REASONS
    for r in found:
        assert set(r) == {"code", "kind", "text"}
        assert r["code"] in REASON_GROUPS
        assert r["kind"] in ("for", "against")
        assert isinstance(r["text"], str) and r["text"]
    # Ordered by the size of the effect, each above the threshold, sign matching the kind.
    size = {g: effect[0][REASON_GROUPS.index(g)] for g in REASON_GROUPS}
    sizes = [abs(size[r["code"]]) for r in found]
    assert sizes == sorted(sizes, reverse=True)
    assert all(s >= MIN_EFFECT for s in sizes)
    assert all((size[r["code"]] > 0) == (r["kind"] == "for") for r in found)


def test_contribution_is_the_change_when_a_group_is_typical(model):
    X, effect, _ = explain(model, BASE_SLOT)
    typical = X.copy()
    for name in GROUPS["distance"]:
        typical[:, COLUMN[name]] = model.reference[COLUMN[name]]
    # Measured on the uncalibrated score: isotonic calibration's flat steps hide effects.
    expected = model.raw_score(X)[0] - model.raw_score(typical)[0]
    assert effect[0][REASON_GROUPS.index("distance")] == pytest.approx(expected, abs=1e-9)


def test_base_pair(model):
    _, _, found = explain(model, BASE_SLOT)
    r = by_code(found)
    assert r["distance"] == {"code": "distance", "kind": "for", "text": "under 1 km från hemmet"}
    # Not a wished occupation: never a reason for (against, or no reason when the typical
    # training pair does not match either).
    if "occupation" in r:
        assert r["occupation"] == {
            "code": "occupation", "kind": "against",
            "text": "annat yrke än det önskade: " + REF.occupation_label("9111")}


def test_wished_occupation_turns_the_occupation_reason(model):
    X0, _, before = explain(model, BASE_SLOT)
    matched = {**BASE_SLOT, "occupation_code": "5120"}
    X1, _, after = explain(model, matched)
    # Only the occupation columns changed (the title stays, so the text is the same).
    changed = {name for name, i in COLUMN.items() if X0[0, i] != X1[0, i]}
    assert changed == {"wish_level"}
    assert model.predict(X1)[0] > model.predict(X0)[0]
    occ = by_code(after)["occupation"]
    assert occ["kind"] == "for"
    assert occ["text"].startswith("samma yrke som önskat")
    assert occ["text"] == "samma yrke som önskat: Kockar och kallskänkor"
    assert by_code(before).get("occupation", {}).get("kind") != "for"


def test_far_slot_turns_the_distance_reason(model):
    # A wished occupation, so the score is not already at its floor when the slot is far.
    near = {**BASE_SLOT, "occupation_code": "5120"}
    far = {**near, "lat": HOME[0] + 0.36}   # about 40 km north, still within 50 km
    X0, _, before = explain(model, near)
    X1, _, after = explain(model, far)
    km = X1[0, COLUMN["distance_km"]]
    assert 35 < km < COMMUTE_KM
    changed = {name for name, i in COLUMN.items() if X0[0, i] != X1[0, i]}
    assert changed == set(GROUPS["distance"])
    assert model.predict(X1)[0] < model.predict(X0)[0]
    # Near: a reason for, or none when the score is already near its ceiling.
    dist_before = by_code(before).get("distance")
    if dist_before is not None:
        assert dist_before == {"code": "distance", "kind": "for",
                               "text": "under 1 km från hemmet"}
    assert by_code(after)["distance"] == {"code": "distance", "kind": "against",
                                          "text": f"{km:.0f} km från hemmet"}


def test_unchanged_pair_gives_the_same_reasons(model):
    assert explain(model, BASE_SLOT)[2] == explain(model, dict(BASE_SLOT))[2]


def test_no_reasons_below_the_threshold(model):
    """A pair equal to the typical training pair has no group that moves the score."""
    X, _, _ = explain(model, BASE_SLOT)
    typical = model.reference[None, :].copy()
    effect = contributions(model, typical)
    assert np.allclose(effect, 0.0)
    assert reasons(typical[0], effect[0], BASE_SLOT, PROFILE, REF.occupation_label) == []
    assert contributions(model, X[:0]).shape == (0, len(REASON_GROUPS))


# --- known bug: the distance direction is not enforced ------------------------------------

MONOTONE_BUG = (
    "ranker.candidate_estimators constrains distance_km (-1) and commute_share (-1) but not "
    "commute_margin_km (= max_commute_km - distance_km, see features.MONOTONE): gradient "
    "boosting splits on the unconstrained column, so the score can rise with distance and a "
    "slot under 1 km from home gets the reason 'against: under 1 km från hemmet'")


def test_every_distance_column_is_constrained():
    from matchning.ml.features import FEATURES
    from matchning.ml.ranker import candidate_estimators

    cst = dict(zip(FEATURES, candidate_estimators()["gradient_boosting"].monotonic_cst,
                   strict=True))
    assert cst["distance_km"] == -1 and cst["commute_share"] == -1
    assert cst["commute_margin_km"] == 1


def test_gradient_boosting_score_never_rises_with_distance():
    rows, slots = synthetic_history(n=400, seed=5)
    gb = fit_model(rows, slots, REF, families=["gradient_boosting"])
    assert gb.info["estimator"].startswith("gradient_boosting")
    scores, km = [], []
    for offset in (0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.36):
        slot = {**BASE_SLOT, "occupation_code": "5120", "lat": HOME[0] + offset}
        X, _, found = explain(gb, slot)
        km.append(X[0, COLUMN["distance_km"]])
        scores.append(gb.predict(X)[0])
        if km[-1] < 1:   # the nearest slots never get the distance as a reason against
            assert by_code(found).get("distance", {}).get("kind") != "against"
    assert km == sorted(km)
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(scores)), scores


def test_facts_that_cannot_explain_their_direction_are_left_out() -> None:
    """An unknown working time says nothing; "no job chance" is never a reason for; the next
    group takes the freed place."""
    x = np.zeros(len(COLUMN))
    effect = np.zeros(len(REASON_GROUPS))
    hours, job, distance = (REASON_GROUPS.index(g) for g in ("hours", "job_chance", "distance"))
    effect[hours], effect[job], effect[distance] = 0.09, 0.08, 0.01
    x[COLUMN["distance_km"]] = 7.0
    slot = {"hours_per_week": None, "occupation_code": "5120"}
    out = reasons(x, effect, slot, {"swedish_level": "D"}, REF.occupation_label)
    assert [r["code"] for r in out] == ["distance"]
    x[COLUMN["may_lead_to_job"]] = 1
    out = reasons(x, effect, slot, {"swedish_level": "D"}, REF.occupation_label)
    assert [(r["code"], r["text"]) for r in out][:1] == [
        ("job_chance", "platsen kan leda till anställning")]
