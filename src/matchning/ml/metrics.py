"""Ranking and calibration metrics for the offline evaluation.

Pure functions: numpy arrays in, a float (or a small table) out. One call scores one query
(one participant's candidate slots); averaging over queries is the caller's job, and
`mean_ignoring_nan` skips queries where a metric is undefined (nothing relevant).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "brier_score",
    "catalogue_coverage",
    "expected_calibration_error",
    "mean_ignoring_nan",
    "ndcg_at_k",
    "recall_at_k",
    "reciprocal_rank",
    "reliability_table",
    "top_k",
]


def _ranking(scores: np.ndarray) -> np.ndarray:
    """All indices by descending score; ties keep candidate order (stable) so runs repeat."""
    scores = np.asarray(scores, dtype=float)
    return np.argsort(-scores, kind="stable")


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best-scored candidates, best first."""
    return _ranking(scores)[: max(int(k), 0)]


def ndcg_at_k(scores: np.ndarray, gains: np.ndarray, k: int = 10) -> float:
    """Normalised DCG of the top k; nan when no candidate has a positive gain."""
    gains = np.asarray(gains, dtype=float)
    if gains.shape != np.shape(scores):
        raise ValueError("scores and gains must have the same shape")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))  # rank r (from 1) -> 1/log2(r+1)
    ranked = gains[top_k(scores, k)]
    ideal = np.sort(gains)[::-1][:k]
    idcg = float(np.sum(ideal * discounts[: ideal.size]))
    if idcg == 0.0:
        return float("nan")
    return float(np.sum(ranked * discounts[: ranked.size])) / idcg


def recall_at_k(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    """Share of the relevant candidates found in the top k; nan when none is relevant."""
    relevant = np.asarray(relevant, dtype=bool)
    n_relevant = int(relevant.sum())
    if n_relevant == 0:
        return float("nan")
    return int(relevant[top_k(scores, k)].sum()) / n_relevant


def reciprocal_rank(scores: np.ndarray, relevant: np.ndarray) -> float:
    """1 / rank of the first relevant candidate; nan when none is relevant."""
    relevant = np.asarray(relevant, dtype=bool)
    hits = np.flatnonzero(relevant[_ranking(scores)])
    if hits.size == 0:
        return float("nan")
    return 1.0 / (int(hits[0]) + 1)


def catalogue_coverage(top_lists: Iterable[Iterable], catalogue: Iterable) -> float:
    """Share of catalogue ids shown in at least one top list (ids outside it are ignored)."""
    catalogue_set = set(catalogue)
    if not catalogue_set:
        return 0.0
    shown = {item for top in top_lists for item in top}
    return len(shown & catalogue_set) / len(catalogue_set)


def _check_probs(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape:
        raise ValueError("y and p must have the same shape")
    return y, p


def brier_score(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of predicted probabilities against 0/1 outcomes."""
    y, p = _check_probs(y, p)
    if y.size == 0:
        return float("nan")
    return float(np.mean((p - y) ** 2))


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    # Equal-width bins on [0, 1]; p == 1.0 would be bin n_bins, so clip it into the last bin.
    return np.clip((p * n_bins).astype(int), 0, n_bins - 1)


def reliability_table(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Per non-empty bin: edges, mean predicted probability, observed rate and count."""
    y, p = _check_probs(y, p)
    idx = _bin_index(p, n_bins)
    rows = []
    for b in range(n_bins):
        mask = idx == b
        count = int(mask.sum())
        if count == 0:
            continue
        rows.append({
            "bin_lo": b / n_bins,
            "bin_hi": (b + 1) / n_bins,
            "mean_predicted": float(p[mask].mean()),
            "observed_rate": float(y[mask].mean()),
            "count": count,
        })
    columns = ["bin_lo", "bin_hi", "mean_predicted", "observed_rate", "count"]
    return pd.DataFrame(rows, columns=columns)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Σ_b (n_b / N) · |mean p_b − mean y_b| over equal-width bins; nan for no data."""
    table = reliability_table(y, p, n_bins)
    total = int(table["count"].sum())
    if total == 0:
        return float("nan")
    gaps = (table["mean_predicted"] - table["observed_rate"]).abs()
    return float((table["count"] * gaps).sum() / total)


def mean_ignoring_nan(values: Iterable[float | None]) -> float:
    """Mean over the defined values (None counts as nan); nan when there are none."""
    arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    if arr.size == 0 or np.all(np.isnan(arr)):
        return float("nan")
    return float(np.nanmean(arr))
