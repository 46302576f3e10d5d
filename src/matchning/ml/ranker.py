"""The ranking estimators: a calibrated classifier over pair features, and the candidates.

`TimeCalibratedClassifier` keeps scikit-learn's contract (tested with
`parametrize_with_checks`). Rows must come in time order: the estimator learns on the older
part and calibrates its probabilities on the newer part, as they will be used on new pairs.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from matchning.ml.features import FEATURES, MONOTONE
from matchning.ml.forest import FlatForest


class TimeCalibratedClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier with probabilities calibrated on the most recent rows.

    Parameters
    ----------
    estimator : classifier with predict_proba; default HistGradientBoostingClassifier.
    method : "isotonic" or "sigmoid".
    calibration_share : share of the (time-ordered) rows kept back for calibration.
    """

    def __init__(self, estimator=None, method: str = "isotonic",
                 calibration_share: float = 0.25):
        self.estimator = estimator
        self.method = method
        self.calibration_share = calibration_share

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        base = self.estimator if self.estimator is not None else \
            HistGradientBoostingClassifier()
        tags.input_tags.allow_nan = get_tags(base).input_tags.allow_nan
        return tags

    def fit(self, X, y, calibration_mask=None, sample_weight=None):
        """`calibration_mask` marks the rows that may calibrate (real outcomes); the
        estimator learns from every row before the cut, weighted by `sample_weight`."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        mask = np.ones(len(y), dtype=bool) if calibration_mask is None \
            else np.asarray(calibration_mask, dtype=bool)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) > 2:
            raise ValueError("Only binary classification is supported. The type of the target "
                             f"is {type_of_target(y)}.")
        if self.method not in ("isotonic", "sigmoid"):
            raise ValueError(f"method must be 'isotonic' or 'sigmoid', not {self.method!r}")
        target = (y == self.classes_[-1]).astype(int)
        cut = round(len(y) * (1.0 - self.calibration_share))
        base = self.estimator if self.estimator is not None else \
            HistGradientBoostingClassifier(random_state=0)
        tail = np.flatnonzero(mask[cut:]) + cut
        head_ok = len(np.unique(target[:cut])) == 2
        tail_ok = len(np.unique(target[tail])) == 2
        self.calibrator_ = None
        if len(self.classes_) == 1:
            self.estimator_ = None
            return self
        if head_ok and tail_ok and len(tail) >= 2:
            self.estimator_ = _fit_weighted(clone(base), X[:cut], target[:cut],
                                            None if sample_weight is None
                                            else np.asarray(sample_weight)[:cut])
            raw = self.estimator_.predict_proba(X[tail])[:, 1]
            self.calibrator_ = _fit_calibrator(self.method, raw, target[tail])
        else:  # too few rows of one class to hold any back: uncalibrated
            self.estimator_ = _fit_weighted(clone(base), X, target, sample_weight)
        return self

    def recalibrated(self, method: str, X, y, calibration_mask=None):
        """A copy calibrated by `method` on the same rows as `fit` (X, y and mask as given to
        it), sharing the fitted estimator: what a second `fit` with the same estimator and
        random state would give, without fitting the estimator again."""
        check_is_fitted(self, "classes_")
        other = copy.copy(self)
        other.method = method
        if self.calibrator_ is None:  # nothing was held back: nothing to calibrate
            return other
        X, y = validate_data(self, X, y, reset=False, ensure_all_finite="allow-nan")
        mask = np.ones(len(y), dtype=bool) if calibration_mask is None \
            else np.asarray(calibration_mask, dtype=bool)
        target = (y == self.classes_[-1]).astype(int)
        cut = round(len(y) * (1.0 - self.calibration_share))
        tail = np.flatnonzero(mask[cut:]) + cut
        other.calibrator_ = _fit_calibrator(method, self.estimator_.predict_proba(X[tail])[:, 1],
                                            target[tail])
        return other

    def predict_proba(self, X):
        check_is_fitted(self, "classes_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        if self.estimator_ is None:  # only one class was seen in fit
            return np.ones((X.shape[0], 1))
        raw = self.estimator_.predict_proba(X)[:, 1]
        p = raw if self.calibrator_ is None else _apply_calibrator(self.calibrator_, raw)
        return np.column_stack([1.0 - p, p])

    def calibrated_and_raw(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated probability, uncalibrated score) from one pass over the trees."""
        raw = self.raw_score(X)
        if self.estimator_ is None:
            return np.ones(len(raw)), raw
        p = raw if self.calibrator_ is None else _apply_calibrator(self.calibrator_, raw)
        return p, raw

    def raw_score(self, X):
        """The uncalibrated score: breaks the ties of isotonic calibration's flat steps."""
        check_is_fitted(self, "classes_")
        forest = self._forest()
        if forest is not None and _plain(X, forest.n_features) \
                and not hasattr(self, "feature_names_in_"):
            return forest.proba(X)  # equal to the estimator's predict_proba, ~10x cheaper
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        if self.estimator_ is None:
            return np.zeros(X.shape[0])
        return self.estimator_.predict_proba(X)[:, 1]

    def _forest(self) -> FlatForest | None:
        """The gradient boosting's trees as flat arrays (ml/forest.py), built on first use
        and kept while `estimator_` is the same object; None for other estimators."""
        estimator = getattr(self, "estimator_", None)
        cached = self.__dict__.get("_forest_cache")
        if cached is None or cached[0] is not estimator:
            cached = (estimator, FlatForest.of(estimator) if estimator is not None else None)
            self.__dict__["_forest_cache"] = cached
        return cached[1]

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_forest_cache", None)  # derived; rebuilt after loading
        return state

    def predict(self, X):
        proba = self.predict_proba(X)
        if len(self.classes_) == 1:
            return np.full(proba.shape[0], self.classes_[0])
        return self.classes_[(proba[:, 1] >= 0.5).astype(int)]


def _plain(X, n_features: int) -> bool:
    """A float64 matrix of the right width without infinities: what validate_data would pass
    through unchanged (anything else takes the validating path, which raises its errors)."""
    return (type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2
            and X.shape[1] == n_features and not np.isinf(X).any())


def _fit_weighted(est, X, y, weight):
    if weight is None:
        return est.fit(X, y)
    if isinstance(est, Pipeline):  # route the weights to the final step
        return est.fit(X, y, **{f"{est.steps[-1][0]}__sample_weight": weight})
    return est.fit(X, y, sample_weight=weight)


def _fit_calibrator(method: str, raw: np.ndarray, y: np.ndarray):
    if method == "isotonic":
        # Never 0 or 1: no placement is certain, and a flat 1.0 says nothing to a consultant.
        return IsotonicRegression(y_min=0.01, y_max=0.99, out_of_bounds="clip").fit(raw, y)
    return LogisticRegression().fit(_logit(raw)[:, None], y)


def _apply_calibrator(calibrator, raw: np.ndarray) -> np.ndarray:
    if isinstance(calibrator, IsotonicRegression):
        if _isotonic_direct(calibrator, raw):
            # IsotonicRegression.predict's own steps (clip, interpolate, cast) without its
            # input validation, which costs more than the interpolation of 300 values.
            t = np.clip(raw, calibrator.X_min_, calibrator.X_max_)
            return np.clip(calibrator.f_(t).astype(t.dtype), 0.0, 1.0)
        return np.clip(calibrator.predict(raw), 0.0, 1.0)
    return calibrator.predict_proba(_logit(raw)[:, None])[:, 1]


def _isotonic_direct(calibrator: IsotonicRegression, raw) -> bool:
    return (type(raw) is np.ndarray and raw.ndim == 1 and raw.dtype == np.float64
            and calibrator.out_of_bounds == "clip"
            and getattr(calibrator, "X_thresholds_", np.zeros(0)).dtype == np.float64
            and bool(np.isfinite(raw).all()))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def candidate_estimators(random_state: int = 0) -> dict[str, object]:
    """The model families compared on validation: gradient boosting and a linear model."""
    monotone = [MONOTONE.get(f, 0) for f in FEATURES]
    return {
        "gradient_boosting": HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=250, max_leaf_nodes=15, min_samples_leaf=30,
            l2_regularization=1.0, monotonic_cst=monotone, random_state=random_state),
        "logistic_regression": make_pipeline(
            StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)),
    }


FIRST_STAGE = ("wish_level", "past_level", "substitute", "required_cover", "commute_share",
               "employer_rate", "text_similarity")


class FirstStage(BaseEstimator):
    """A cheap linear score over a few features: keeps a few hundred slots for the ranker."""

    def __init__(self, C: float = 1.0):
        self.C = C

    def fit(self, X, y):
        self.columns_ = [FEATURES.index(f) for f in FIRST_STAGE]
        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(C=self.C,
                                                                          max_iter=1000))
        self.model_.fit(X[:, self.columns_], y)
        return self

    def decision_function(self, X):
        """The pipeline's decision function. For a float64 matrix the scaler's and the
        linear model's own operations are applied directly, in their order (the same bits,
        without the per-call validation that costs more than the arithmetic)."""
        Z = X[:, self.columns_]
        scaler, linear = self.model_[0], self.model_[-1]
        if type(Z) is not np.ndarray or Z.dtype != np.float64 or not np.isfinite(Z).all():
            return self.model_.decision_function(Z)
        Z -= scaler.mean_  # Z is a fresh copy (fancy indexing): in place, as the scaler does
        Z /= scaler.scale_
        return (Z @ linear.coef_.T + linear.intercept_).reshape(-1)
