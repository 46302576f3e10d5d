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
def _step(X, i, node, feature, threshold, missing_left, child):  # pragma: no cover
    x = X[i, feature[node]]
    # The right child sits next to the left one: no branch on the comparison.
    return child[node] + (not ((x <= threshold[node]) | ((x != x) & missing_left[node])))


@njit(cache=True, nogil=True)
def _walk(X, feature, threshold, missing_left, child, leaf, value, roots, baseline,
          out):  # pragma: no cover - compiled; tested through FlatForest.raw
    # Tree by tree over all rows: one tree's nodes stay in the cache while every row walks
    # it. Each row's sum still runs baseline, then tree after tree: scikit-learn's order.
    # Four rows walk side by side: their chains of dependent loads overlap in the CPU, where
    # one row at a time waits on each load (1.1 -> 0.7 ms for 300 rows x 223 trees). A leaf
    # leads to itself, so a row that got there first waits in place for the other three.
    n = X.shape[0]
    for i in range(n):
        out[i] = baseline
    for t in range(roots.shape[0]):
        root = roots[t]
        i = 0
        while i + 4 <= n:
            a = b = c = d = root
            while not (leaf[a] & leaf[b] & leaf[c] & leaf[d]):
                a = _step(X, i, a, feature, threshold, missing_left, child)
                b = _step(X, i + 1, b, feature, threshold, missing_left, child)
                c = _step(X, i + 2, c, feature, threshold, missing_left, child)
                d = _step(X, i + 3, d, feature, threshold, missing_left, child)
            out[i] += value[a]
            out[i + 1] += value[b]
            out[i + 2] += value[c]
            out[i + 3] += value[d]
            i += 4
        for j in range(i, n):
            a = root
            while not leaf[a]:
                a = _step(X, j, a, feature, threshold, missing_left, child)
            out[j] += value[a]


@dataclass(frozen=True)
class FlatForest:
    """Every tree's nodes in flat arrays, numbered tree by tree so that a node's right child
    is its left child + 1. A leaf leads to itself whatever the row: feature 0, threshold +inf,
    missing values to the left, its own number as its left child."""

    feature: np.ndarray       # int32
    threshold: np.ndarray     # float64
    missing_left: np.ndarray  # bool
    child: np.ndarray         # int32, the left child (the right one is child + 1)
    leaf: np.ndarray          # bool
    value: np.ndarray         # float64
    roots: np.ndarray         # int32, one per tree, in scikit-learn's order
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
        if not trees or any(bool(nodes["is_categorical"].any()) for nodes in trees):
            return None
        parts, child, roots = [], [], []
        for nodes in trees:
            old, left = _sibling_order(nodes)
            roots.append(sum(len(p) for p in parts))
            parts.append(nodes[old])
            child.append(np.where(left < 0, 0, left + roots[-1]))
        nodes = np.concatenate(parts)
        leaf = nodes["is_leaf"].astype(bool)
        return cls(feature=np.where(leaf, 0, nodes["feature_idx"]).astype(np.int32),
                   threshold=np.where(leaf, np.inf, nodes["num_threshold"]).astype(np.float64),
                   missing_left=np.where(leaf, True, nodes["missing_go_to_left"]).astype(bool),
                   child=np.where(leaf, np.arange(len(nodes)),
                                  np.concatenate(child)).astype(np.int32),
                   leaf=leaf,
                   value=nodes["value"].astype(np.float64),
                   roots=np.array(roots, dtype=np.int32),
                   baseline=float(np.asarray(est._baseline_prediction).ravel()[0]),
                   n_features=int(est.n_features_in_))

    def raw(self, X: np.ndarray) -> np.ndarray:
        """The sum of the leaves' values (scikit-learn's `_raw_predict`)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X has {X.shape} features; the trees expect {self.n_features}")
        out = np.empty(X.shape[0], dtype=np.float64)
        _walk(X, self.feature, self.threshold, self.missing_left, self.child, self.leaf,
              self.value, self.roots, self.baseline, out)
        return out

    def proba(self, X: np.ndarray) -> np.ndarray:
        """The probability of the positive class (`predict_proba(X)[:, 1]`)."""
        return expit(self.raw(X))


def _sibling_order(nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One tree's nodes renumbered breadth first with siblings side by side: (the old index
    of each new node, each new node's left child in the new numbering, -1 at a leaf)."""
    old = [0]
    left = []
    for nd in old:  # grows while walked: breadth first
        if nodes["is_leaf"][nd]:
            left.append(-1)
            continue
        left.append(len(old))
        old += [int(nodes["left"][nd]), int(nodes["right"][nd])]
    return np.array(old, dtype=np.int64), np.array(left, dtype=np.int64)
