"""The flat trees (ml/forest.py) and the ranker's fast paths give scikit-learn's own results,
bit for bit: same probabilities, same first-stage scores, same order, same reasons."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from matchning.ml.forest import FlatForest
from matchning.ml.model import fit_model
from matchning.ml.ranker import TimeCalibratedClassifier, candidate_estimators
from matchning.ml.reasons import contributions
from matchning.reference import get_reference
from tests.test_reasons import synthetic_history


def _data(n: int = 3000, d: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 3] = rng.integers(0, 4, n)  # few distinct values: many rows sit on a threshold
    X[rng.random(X.shape) < 0.08] = np.nan
    y = (np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 3]) + np.isnan(X[:, 1])
         + rng.standard_normal(n) > 0.8).astype(int)
    return X, y


@pytest.fixture(scope="module")
def boosted():
    X, y = _data()
    est = HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=15, random_state=0,
                                         monotonic_cst=[1, 0, 0, 1, 0, 0, 0, -1]).fit(X, y)
    return est, X


def test_flat_forest_equals_predict_proba_exactly(boosted):
    est, X = boosted
    forest = FlatForest.of(est)
    assert forest is not None and len(forest.roots) == est.n_iter_
    assert np.array_equal(forest.raw(X), est._raw_predict(X).ravel())
    assert np.array_equal(forest.proba(X), est.predict_proba(X)[:, 1])
    # Rows exactly on the thresholds, and rows of missing values only.
    nodes = np.concatenate([p[0].nodes for p in est._predictors])
    inner = nodes[nodes["is_leaf"] == 0]
    on = np.tile(np.nanmedian(X, axis=0), (len(inner), 1))
    on[np.arange(len(inner)), inner["feature_idx"]] = inner["num_threshold"]
    edge = np.vstack([on, np.full((3, X.shape[1]), np.nan)])
    assert np.array_equal(forest.proba(edge), est.predict_proba(edge)[:, 1])
    assert forest.raw(X[:0]).shape == (0,)
    for n in range(1, 10):  # rows walk four at a time: every remainder, and rows out of step
        rows = X[np.random.default_rng(n).choice(len(X), n)]
        assert np.array_equal(forest.raw(rows), est._raw_predict(rows).ravel()), n
    with pytest.raises(ValueError):
        forest.raw(X[:, :3])


def test_flat_forest_only_for_what_it_can_walk(boosted):
    X, y = _data(400)
    assert FlatForest.of(LogisticRegression().fit(np.nan_to_num(X), y)) is None
    three = HistGradientBoostingClassifier(max_iter=5).fit(np.nan_to_num(X), y + (X[:, 2] > 1))
    assert FlatForest.of(three) is None  # one tree per class and iteration
    cats = np.nan_to_num(X.copy())
    cats[:, 3] = np.abs(cats[:, 3]).astype(int)
    categorical = HistGradientBoostingClassifier(max_iter=5, categorical_features=[3])
    assert FlatForest.of(categorical.fit(cats, y)) is None


def test_ranker_fast_paths_equal_the_validating_ones(boosted):
    _, X = boosted
    _, y = _data()
    clf = TimeCalibratedClassifier(candidate_estimators()["gradient_boosting"].set_params(
        max_iter=40, monotonic_cst=None)).fit(X, y)
    expected = clf.estimator_.predict_proba(X)[:, 1]
    assert clf._forest() is not None
    assert np.array_equal(clf.raw_score(X), expected)
    assert np.array_equal(clf.raw_score(X.tolist()), expected)  # a list takes the slow path
    p, raw = clf.calibrated_and_raw(X)
    assert np.array_equal(raw, expected)
    assert np.array_equal(p, clf.predict_proba(X)[:, 1])
    with pytest.raises(ValueError):
        clf.raw_score(np.where(np.isnan(X), np.inf, X))  # infinities are refused as before
    again = pickle.loads(pickle.dumps(clf))
    assert "_forest_cache" not in again.__dict__  # derived, never saved with the model
    assert np.array_equal(again.raw_score(X), expected)
    # A linear ranker keeps scikit-learn's own path.
    linear = TimeCalibratedClassifier(candidate_estimators()["logistic_regression"]).fit(
        np.nan_to_num(X), y)
    assert linear._forest() is None
    assert np.array_equal(linear.raw_score(np.nan_to_num(X)),
                          linear.estimator_.predict_proba(np.nan_to_num(X))[:, 1])


@pytest.fixture(scope="module")
def model():
    rows, slots = synthetic_history(400)
    return fit_model(rows, slots, get_reference(), families=["gradient_boosting"])


def test_first_stage_equals_its_pipeline(model):
    m = model
    X = np.random.default_rng(1).normal(size=(500, len(m.reference))) + m.reference
    got = m.first_stage.decision_function(X)
    assert np.array_equal(got, m.first_stage.model_.decision_function(
        X[:, m.first_stage.columns_]))
    assert got.shape == (500,)


def test_ranking_and_reasons_unchanged(model):
    m = model
    rng = np.random.default_rng(2)
    X = m.reference + rng.normal(scale=0.7, size=(450, len(m.reference)))
    X[:, 0] = rng.integers(0, 5, len(X))  # occupation level: many ties of the score
    ranking = m.ranked(X, keep=300)
    # The reference: the same two stages through scikit-learn's own predict calls.
    cheap = m.first_stage.model_.decision_function(X[:, m.first_stage.columns_])
    top = np.argpartition(-cheap, 299)[:300]
    raw = m.ranker.estimator_.predict_proba(X[top])[:, 1]
    p = m.ranker.predict_proba(X[top])[:, 1]
    assert np.array_equal(ranking.order[:300], top[np.lexsort((top, -raw, -p))])
    rest = np.setdiff1d(np.arange(len(X)), top)
    assert np.array_equal(ranking.order[300:], rest[np.argsort(-cheap[rest], kind="stable")])
    assert np.array_equal(ranking.scores[top], p)
    assert np.isnan(ranking.scores[rest]).all() and np.isnan(ranking.raw[rest]).all()
    order, scores = m.two_stage(X, 300)
    assert np.array_equal(order, ranking.order)
    assert np.array_equal(scores, ranking.scores, equal_nan=True)
    listed = ranking.order[:10]
    assert np.array_equal(contributions(m, X[listed], ranking.raw[listed]),
                          contributions(m, X[listed]))


def test_isotonic_calibration_equals_predict():
    from sklearn.isotonic import IsotonicRegression

    from matchning.ml.ranker import _apply_calibrator, _fit_calibrator
    rng = np.random.default_rng(3)
    raw = rng.random(500)
    iso = _fit_calibrator("isotonic", raw, (rng.random(500) < raw).astype(int))
    assert isinstance(iso, IsotonicRegression)
    probe = np.r_[rng.random(300) * 1.4 - 0.2, iso.X_thresholds_, 0.0, 1.0]
    assert np.array_equal(_apply_calibrator(iso, probe),
                          np.clip(iso.predict(probe), 0.0, 1.0))


def test_first_stage_refuses_missing_values_as_before(model):
    X = np.tile(model.reference, (3, 1))
    X[1, model.first_stage.columns_[0]] = np.nan
    with pytest.raises(ValueError):
        model.first_stage.decision_function(X)
