"""The systems compared in an evaluation: the model and the baselines, each a score per
feasible candidate of one query. All of them only ever see slots that passed the rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from matchning.ml.features import COLUMN

FIRST_STAGE_KEEP = 300


@dataclass
class Query:
    key: Any                 # placement id, or participant id for the truth evaluation
    participant_id: int
    day: int
    profile: dict
    slot_ids: np.ndarray     # feasible candidates (ids)
    X: np.ndarray            # their pair features, from the model under test
    gains: np.ndarray        # graded relevance (or true probability) per candidate


def model_scores(model) -> Callable[[Query], np.ndarray]:
    def score(q: Query) -> np.ndarray:
        order, _p = model.two_stage(q.X, FIRST_STAGE_KEEP)
        out = np.empty(len(order))
        out[order] = -np.arange(len(order), dtype=float)  # serving order as a score
        return out
    return score


def random_scores(seed: int) -> Callable[[Query], np.ndarray]:
    def score(q: Query) -> np.ndarray:
        rng = np.random.default_rng([seed, int(q.participant_id), int(q.day)])
        return rng.random(len(q.slot_ids))
    return score


def column(name: str, sign: float = 1.0) -> Callable[[Query], np.ndarray]:
    return lambda q: sign * q.X[:, COLUMN[name]]


def wished_then_nearest(q: Query) -> np.ndarray:
    """What a consultant does by hand: the wished occupation (closest SSYK level) first,
    then the nearest."""
    return q.X[:, COLUMN["wish_level"]] * 10_000.0 - q.X[:, COLUMN["distance_km"]]


def lightfm_scores(lfm, user_key: Callable[[Query], Any]) -> Callable[[Query], np.ndarray]:
    def score(q: Query) -> np.ndarray:
        return lfm.score(user_key(q), [int(s) for s in q.slot_ids])
    return score


def baseline_systems(seed: int) -> dict[str, Callable[[Query], np.ndarray]]:
    return {
        "random_feasible": random_scores(seed),
        "nearest_feasible": column("distance_km", -1.0),
        "wished_then_nearest": wished_then_nearest,
        "tfidf_text": column("text_similarity"),
        "employer_popularity": column("employer_rate"),
    }
