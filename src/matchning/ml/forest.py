"""A fitted HistGradientBoostingClassifier's trees as flat arrays, walked in one compiled loop.

scikit-learn predicts tree by tree, one Python call each (about 20 µs per tree under load,
whatever the number of rows): with 250 trees that is 5 ms for a few rows. Here every tree's
nodes sit in one set of flat arrays and one compiled function (numba) walks every row through
every tree. The sum is taken in scikit-learn's own order (the baseline, then tree after tree)
and the comparisons are its own (`x <= threshold`; a missing value goes where the tree sent
missing values in fit), so the result equals `predict_proba` exactly, not nearly
(`tests/test_forest.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier


@njit(cache=True, nogil=True)
def _walk(X, feature, threshold, missing_left, left, right, is_leaf, value, roots, baseline,
          out):  # pragma: no cover - compiled; tested through FlatForest.raw
    for i in range(X.shape[0]):
        acc = baseline
        for t in range(roots.shape[0]):
            node = roots[t]
            while not is_leaf[node]:
                x = X[i, feature[node]]
                go_left = missing_left[node] if np.isnan(x) else x <= threshold[node]
                node = left[node] if go_left else right[node]
            acc += value[node]
        out[i] = acc


@dataclass(frozen=True)
class FlatForest:
    """Every tree's nodes in flat arrays; `left` / `right` are indices into these arrays."""

    feature: np.ndarray       # int64
    threshold: np.ndarray     # float64
    missing_left: np.ndarray  # bool
    left: np.ndarray          # int64
    right: np.ndarray         # int64
    is_leaf: np.ndarray       # bool
    value: np.ndarray         # float64
    roots: np.ndarray         # int64, one per tree, in scikit-learn's order
    baseline: float
    n_features: int

    @classmethod
    def of(cls, est) -> FlatForest | None:
        """The flat trees of a fitted binary HistGradientBoostingClassifier with numeric
        features only; None for anything else (the caller keeps scikit-learn's predict)."""
        if not isinstance(est, HistGradientBoostingClassifier) \
                or getattr(est, "n_trees_per_iteration_", 0) != 1 \
                or getattr(est, "_preprocessor", None) is not None:
            return None
        trees = [iteration[0].nodes for iteration in est._predictors]
        if any(bool(nodes["is_categorical"].any()) for nodes in trees):
            return None
        sizes = np.array([len(nodes) for nodes in trees], dtype=np.int64)
        offset = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
        shift = np.repeat(offset, sizes)
        nodes = np.concatenate(trees) if trees else np.zeros(0, dtype=np.float64)
        leaf = nodes["is_leaf"].astype(bool)
        # A leaf's children are unused; keep them at the leaf itself so no index is wild.
        own = np.arange(len(leaf), dtype=np.int64)
        left = np.where(leaf, own, nodes["left"].astype(np.int64) + shift)
        right = np.where(leaf, own, nodes["right"].astype(np.int64) + shift)
        return cls(feature=nodes["feature_idx"].astype(np.int64),
                   threshold=nodes["num_threshold"].astype(np.float64),
                   missing_left=nodes["missing_go_to_left"].astype(bool),
                   left=left, right=right, is_leaf=leaf,
                   value=nodes["value"].astype(np.float64), roots=offset,
                   baseline=float(np.asarray(est._baseline_prediction).ravel()[0]),
                   n_features=int(est.n_features_in_))

    def raw(self, X: np.ndarray) -> np.ndarray:
        """The sum of the leaves' values (scikit-learn's `_raw_predict`)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X has {X.shape} features; the trees expect {self.n_features}")
        out = np.empty(X.shape[0], dtype=np.float64)
        _walk(X, self.feature, self.threshold, self.missing_left, self.left, self.right,
              self.is_leaf, self.value, self.roots, self.baseline, out)
        return out

    def proba(self, X: np.ndarray) -> np.ndarray:
        """The probability of the positive class (`predict_proba(X)[:, 1]`)."""
        return expit(self.raw(X))
