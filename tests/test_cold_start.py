"""A new slot at a new employer has no history: it must still rank on its content."""

from __future__ import annotations

import numpy as np

from matchning.ml.catalog import SlotMatrix
from matchning.ml.model import fit_model, pair_distances
from matchning.ml.profiles import ProfileMatrix
from tests.test_reasons import HOME, REF, make_profile, make_slot, synthetic_history


def _rank(model, profile: dict, slots: list[dict]) -> list[int]:
    P = ProfileMatrix.from_records([profile], REF)
    S = SlotMatrix.from_records(slots, REF)
    si = np.arange(len(slots))
    pi = np.zeros(len(slots), dtype=np.int64)
    dist = pair_distances(P, S, pi, si, model.same_kommun_km)
    X = model.features(P, model.encode_profiles(P), model.prepare(S), pi, si, dist, REF)
    order, _ = model.two_stage(X, keep=300)
    return [slots[i]["id"] for i in order]


def test_new_slot_at_new_employer_ranks_on_content() -> None:
    rows, known = synthetic_history(n=400, seed=3)
    model = fit_model(rows, known, REF)
    assert 9_999 not in model.employer_stats.table  # truly without history
    profile = make_profile(["5120"], *HOME)
    fresh = make_slot(1, "5120", HOME[0] + 0.01, HOME[1] + 0.01, employer=9_999)
    # Known employers' slots in other occupations, just as close.
    others = [make_slot(2 + i, occ, HOME[0] + 0.01, HOME[1] - 0.01, employer=1 + i)
              for i, occ in enumerate(("4321", "9622", "5321", "9111", "4322"))]
    ranking = _rank(model, profile, [*others, fresh])
    assert ranking[0] == fresh["id"], ranking
    # And a far, unwished new slot does not jump ahead of a close wished one.
    far = make_slot(50, "9111", HOME[0] + 0.35, HOME[1] + 0.35, employer=9_998)
    assert _rank(model, profile, [far, fresh])[0] == fresh["id"]
