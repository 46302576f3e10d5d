"""TimeCalibratedClassifier: scikit-learn's estimator contract and time-ordered calibration."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from matchning.ml.ranker import TimeCalibratedClassifier


@pytest.fixture(autouse=True)
def _one_thread():
    # Gradient boosting's OpenMP threads slow down badly on a busy machine (as in fit_model).
    with threadpool_limits(limits=1):
        yield



# The one known contract deviation of src/matchning/ml/ranker.py (strict xfail).
WEIGHT_MESSAGE = ("fit(sample_weight=...) passes the weights to the estimator only: the "
                  "calibration cut counts rows and the calibrator ignores the weights, so a "
                  "row of weight 2 is not the same as the row repeated")


def _expected_failures(estimator) -> dict[str, str]:
    # Calibration holds back the newest rows by count, so a weight-2 row differs from the row
    # given twice (training weights never stand for repeated rows).
    return {"check_sample_weight_equivalence_on_dense_data": WEIGHT_MESSAGE}


@parametrize_with_checks([
    TimeCalibratedClassifier(),
    TimeCalibratedClassifier(LogisticRegression(), method="sigmoid"),
], expected_failed_checks=_expected_failures, xfail_strict=True)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_multiclass_error_uses_sklearn_message():
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        TimeCalibratedClassifier(LogisticRegression()).fit(X, np.arange(30) % 3)


def test_nan_tag_true_for_default_estimator():
    assert get_tags(TimeCalibratedClassifier()).input_tags.allow_nan


def test_nan_tag_follows_wrapped_estimator():
    assert not get_tags(TimeCalibratedClassifier(LogisticRegression())).input_tags.allow_nan


def _drifting(n: int = 2000, tail_rate: float = 0.8, head_rate: float = 0.2,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Uninformative features; the label's base rate is `head_rate` in the first 75 % of the
    rows (time order) and `tail_rate` in the last 25 %."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    cut = round(n * 0.75)
    y = np.r_[rng.random(cut) < head_rate, rng.random(n - cut) < tail_rate].astype(int)
    return X, y


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_probabilities_are_probabilities(method):
    X, y = _drifting(600)
    clf = TimeCalibratedClassifier(LogisticRegression(), method=method).fit(X, y)
    p = clf.predict_proba(np.random.default_rng(1).normal(size=(300, 3)) * 5)
    assert p.shape == (300, 2)
    assert np.all((p >= 0.0) & (p <= 1.0))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert set(np.unique(clf.predict(X))) <= {0, 1}


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibration_follows_the_newest_rows(method):
    """The estimator learns on the head (rate 0.2) but calibrates on the tail (rate 0.8):
    probabilities on new data follow the tail's base rate, not the head's or the overall one."""
    X, y = _drifting(2000)
    clf = TimeCalibratedClassifier(LogisticRegression(), method=method).fit(X, y)
    new = np.random.default_rng(7).normal(size=(1000, 3))
    mean = clf.predict_proba(new)[:, 1].mean()
    assert abs(mean - 0.8) < 0.06, mean
    # Without the time-ordered calibration the model would say ~0.2 (head) or ~0.35 (all).
    raw = LogisticRegression().fit(X, y).predict_proba(new)[:, 1].mean()
    assert raw < 0.45


def test_calibration_uses_the_tail_not_a_shuffle():
    """Reversing the time order swaps head and tail: the calibrated mean follows the rows that
    come last, so the two fits disagree."""
    X, y = _drifting(2000, tail_rate=0.8, head_rate=0.2)
    n = len(y)
    cut = round(n * 0.75)
    X2 = np.r_[X[cut:], X[:cut]]
    y2 = np.r_[y[cut:], y[:cut]]  # now the last 25 % are rows of the 0.2 regime
    new = np.random.default_rng(3).normal(size=(1000, 3))
    forward = TimeCalibratedClassifier(LogisticRegression()).fit(X, y)
    backward = TimeCalibratedClassifier(LogisticRegression()).fit(X2, y2)
    assert forward.predict_proba(new)[:, 1].mean() > 0.7
    assert backward.predict_proba(new)[:, 1].mean() < 0.3


def test_calibration_share_moves_the_cut():
    """calibration_share=0.5 puts the cut at the middle: the tail then holds rows of both
    regimes (half 0.2, half 0.8 → about 0.5 among the calibration rows)."""
    X, y = _drifting(4000)
    new = np.random.default_rng(5).normal(size=(1000, 3))
    clf = TimeCalibratedClassifier(LogisticRegression(), calibration_share=0.5).fit(X, y)
    expected = y[len(y) // 2:].mean()
    assert abs(clf.predict_proba(new)[:, 1].mean() - expected) < 0.06


def test_ranking_signal_survives_calibration():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 2))
    y = (rng.random(1500) < 1 / (1 + np.exp(-3 * X[:, 0]))).astype(int)
    clf = TimeCalibratedClassifier().fit(X, y)
    p = clf.predict_proba(np.array([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]]))[:, 1]
    assert p[0] < p[1] < p[2]
    assert p[0] < 0.2 and p[2] > 0.8


@pytest.mark.parametrize("method", ["platt", "", "ISOTONIC", None])
def test_invalid_method_raises(method):
    X, y = _drifting(100)
    with pytest.raises(ValueError, match="method"):
        TimeCalibratedClassifier(LogisticRegression(), method=method).fit(X, y)


def test_more_than_two_classes_raises():
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="binary"):
        TimeCalibratedClassifier(LogisticRegression()).fit(X, np.arange(30) % 3)


def test_one_class_in_the_tail_falls_back_to_uncalibrated():
    """All tail rows share one label: nothing to calibrate on, the estimator uses all rows."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = np.r_[(X[:150, 0] > 0).astype(int), np.ones(50, dtype=int)]
    clf = TimeCalibratedClassifier(LogisticRegression()).fit(X, y)
    assert clf.calibrator_ is None
    assert clf.estimator_ is not None
    p = clf.predict_proba(X)
    assert np.all((p >= 0) & (p <= 1))


def test_masked_rows_never_calibrate():
    """Rows outside `calibration_mask` (e.g. sampled negatives) are left out of calibration:
    with masked negatives among the newest rows, probabilities follow the real ones."""
    rng = np.random.default_rng(11)
    head = rng.random(1500) < 0.2
    newest = np.empty(1000, dtype=int)
    newest[0::2] = rng.random(500) < 0.8   # real outcomes
    newest[1::2] = 0                       # sampled negatives
    y = np.r_[head, newest].astype(int)
    X = rng.normal(size=(len(y), 3))
    mask = np.ones(len(y), dtype=bool)
    mask[1500 + 1::2] = False
    cut = round(len(y) * 0.75)
    real_tail = y[cut:][mask[cut:]].mean()
    assert real_tail > 0.7 and y[cut:].mean() < 0.5
    new = rng.normal(size=(1000, 3))
    masked = TimeCalibratedClassifier(LogisticRegression()).fit(X, y, calibration_mask=mask)
    plain = TimeCalibratedClassifier(LogisticRegression()).fit(X, y)
    assert abs(masked.predict_proba(new)[:, 1].mean() - real_tail) < 0.06
    assert abs(plain.predict_proba(new)[:, 1].mean() - y[cut:].mean()) < 0.06
