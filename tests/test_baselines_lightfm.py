"""LightFM hybrid baseline: learns from tokens, scores unseen users and slots (cold start)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from matchning.ml.baselines_lightfm import LightFMHybrid, profile_tokens, slot_tokens

# In CI lightfm must be installed, so a missing package fails instead of skipping.
if os.environ.get("CI", "").lower() != "true":
    pytest.importorskip("lightfm")

X, Y = "9621", "5120"  # two occupations in different SSYK major groups
X_SLOTS = list(range(1, 11))
Y_SLOTS = list(range(11, 21))
NEW_X_SLOT, NEW_Y_SLOT = 21, 22  # no interactions at all


def _world() -> tuple[list, dict, dict]:
    rng = np.random.default_rng(1)
    user_tokens: dict = {}
    interactions = []
    for i in range(40):
        wish, slots = (X, X_SLOTS) if i % 2 == 0 else (Y, Y_SLOTS)
        key = f"u{i}"
        user_tokens[key] = profile_tokens({"wished_occupations": [wish],
                                           "kommunkod": rng.choice(["2180", "0180"])})
        for slot in rng.choice(slots, size=3, replace=False):
            interactions.append((key, int(slot), 1.0))
    # New users: tokens only, never in interactions.
    user_tokens["new_x"] = profile_tokens({"wished_occupations": [X], "kommunkod": "2180"})
    user_tokens["new_y"] = profile_tokens({"wished_occupations": [Y], "kommunkod": "2180"})
    item_tokens = {s: slot_tokens({"occupation_code": X if s in (*X_SLOTS, NEW_X_SLOT) else Y,
                                   "employer_id": s})
                   for s in [*X_SLOTS, *Y_SLOTS, NEW_X_SLOT, NEW_Y_SLOT]}
    return interactions, user_tokens, item_tokens


@pytest.fixture(scope="module")
def fitted() -> LightFMHybrid:
    interactions, user_tokens, item_tokens = _world()
    return LightFMHybrid(no_components=8, epochs=30).fit(interactions, user_tokens, item_tokens)


def test_new_user_prefers_wished_occupation(fitted: LightFMHybrid) -> None:
    for user, good, bad in (("new_x", X_SLOTS, Y_SLOTS), ("new_y", Y_SLOTS, X_SLOTS)):
        assert fitted.score(user, good).mean() > fitted.score(user, bad).mean()


def test_cold_start_slot(fitted: LightFMHybrid) -> None:
    scores = fitted.score("new_x", [NEW_X_SLOT, NEW_Y_SLOT])
    assert scores.shape == (2,) and np.isfinite(scores).all()
    # the unseen X slot is scored from its occupation tokens alone
    assert scores[0] > scores[1]


def test_score_keeps_order_and_is_deterministic(fitted: LightFMHybrid) -> None:
    forward = fitted.score("u0", [1, 11, 21])
    assert np.allclose(fitted.score("u0", [21, 11, 1]), forward[::-1])
    assert fitted.score("u0", []).shape == (0,)
    interactions, user_tokens, item_tokens = _world()
    again = LightFMHybrid(no_components=8, epochs=30).fit(interactions, user_tokens,
                                                          item_tokens)
    assert np.allclose(again.score("u0", [1, 11, 21]), forward)


def test_unknown_keys_raise(fitted: LightFMHybrid) -> None:
    with pytest.raises(KeyError, match="unknown user"):
        fitted.score("nobody", [1])
    with pytest.raises(KeyError, match="unknown slot"):
        fitted.score("new_x", [1, 999])


def test_bad_input() -> None:
    with pytest.raises(RuntimeError):
        LightFMHybrid().score("u0", [1])
    with pytest.raises(ValueError, match="> 0"):
        LightFMHybrid().fit([("u", 1, 0.0)], {"u": []}, {1: []})


def test_profile_tokens() -> None:
    profile = {"wished_occupations": ["9621"], "past_work": [{"code": "5120", "years": 2}],
               "skills": [" Truckkort ", "", "Kassa"], "kommunkod": "2180",
               "swedish_level": "B", "needs_supervisor": True}
    assert profile_tokens(profile) == [
        "wish:9621", "wish3:962", "wish2:96", "past:5120", "skill:truckkort", "skill:kassa",
        "kommun:2180", "sv:B", "needs_sup",
    ]
    assert profile_tokens({}) == []


def test_slot_tokens() -> None:
    slot = {"occupation_code": "9621", "required_skills": ["Truckkort"],
            "nice_skills": ["truckkort", "Kassa"], "kommunkod": "2180", "employer_id": 12,
            "supervisor": True, "physical_demand": "tung"}
    assert slot_tokens(slot) == [
        "occ:9621", "occ3:962", "occ2:96", "skill:truckkort", "skill:kassa", "kommun:2180",
        "employer:12", "sup", "demand:tung",
    ]
    assert slot_tokens({"supervisor": False, "physical_demand": None}) == []
