"""The match model: vectorisers, employer statistics, first stage and calibrated ranker.

One fitted object owns everything needed to score a pair, and is saved whole (joblib).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from matchning.errors import InsufficientData
from matchning.ml.catalog import SlotMatrix
from matchning.ml.employer_stats import EmployerStats, as_of
from matchning.ml.features import (
    FEATURES,
    EncodedProfiles,
    EncodedSlots,
    Substitutes,
    Vectorisers,
    encode_profiles,
    encode_slots,
    pair_features,
    warm_features,
)
from matchning.ml.geo import pair_distance_km
from matchning.ml.profiles import ProfileMatrix
from matchning.ml.ranker import FirstStage, TimeCalibratedClassifier, candidate_estimators
from matchning.reference import ReferenceData

VALIDATION_SHARE = 0.2
# At most this many labelled rows (and their sampled negatives) teach the estimator: a
# uniform sample of them when the history holds more; the employers' statistics still count
# every outcome. The test ranking AUC is flat from 20,000 labelled rows on
# (benchmarks/learning_curve.py, docs/performance.md); beyond that the fit only costs time
# and memory. Uniform, not the most recent: the newest rows with a label are mostly quick
# refusals (a completion takes months to become a label), so a recency window would skew the
# labels.
MAX_TRAINING_ROWS = 120_000
SAMPLED_WEIGHT = 1.0   # weight of a sampled negative against a real placement
CALIBRATIONS = ("isotonic", "sigmoid")


@dataclass
class Prepared:
    """A slot catalogue encoded for one model: built once, reused by every request."""

    slots: SlotMatrix
    encoded: EncodedSlots


@dataclass
class Ranking:
    """Row order (best first), calibrated scores and uncalibrated scores (NaN for the rows
    the first stage cut)."""

    order: np.ndarray
    scores: np.ndarray
    raw: np.ndarray


@dataclass
class MatchModel:
    vectorisers: Vectorisers
    employer_stats: EmployerStats
    ranker: TimeCalibratedClassifier
    first_stage: FirstStage
    reference: np.ndarray               # typical feature values (reasons compare to these)
    same_kommun_km: float
    info: dict[str, Any] = field(default_factory=dict)
    _subs: Substitutes | None = field(default=None, repr=False)

    def substitutes(self, ref: ReferenceData) -> Substitutes:
        if self._subs is None:
            self._subs = Substitutes(ref)
        return self._subs

    # -- encoding -------------------------------------------------------------------
    def prepare(self, slots: SlotMatrix) -> Prepared:
        return Prepared(slots, encode_slots(self.vectorisers, slots,
                                            self.employer_stats.arrays(slots.employer)))

    def encode_profiles(self, profiles: ProfileMatrix) -> EncodedProfiles:
        return encode_profiles(self.vectorisers, profiles)

    def features(self, P: ProfileMatrix, EP: EncodedProfiles, prep: Prepared,
                 pi: np.ndarray, si: np.ndarray, distance_km: np.ndarray, ref: ReferenceData,
                 employer=None) -> np.ndarray:
        return pair_features(P, EP, prep.slots, prep.encoded, pi, si, distance_km,
                             self.substitutes(ref), employer)

    # -- scoring --------------------------------------------------------------------
    def warm(self) -> None:
        """Compile the scoring loops (ml/forest.py, the features' dot products) now: a
        worker does it once when it loads the model, not in a user's request."""
        self.raw_score(np.asarray(self.reference, dtype=float)[None, :])
        warm_features()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability that the placement is completed."""
        if len(X) == 0:
            return np.zeros(0)
        proba = self.ranker.predict_proba(X)
        return proba[:, -1]

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        """The ranker's uncalibrated probability (orders ties of the calibrated one)."""
        if len(X) == 0:
            return np.zeros(0)
        return self.ranker.raw_score(X)

    def two_stage(self, X: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
        """(order, scores): the first stage keeps `keep` rows, the ranker orders them.
        Rows cut by the first stage come last, in first-stage order, scored NaN."""
        r = self.ranked(X, keep)
        return r.order, r.scores

    def ranked(self, X: np.ndarray, keep: int) -> Ranking:
        """`two_stage`, with the ranker's uncalibrated scores kept (the reasons start from
        them instead of scoring the listed rows again)."""
        if len(X) == 0:
            return Ranking(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
        cheap = self.first_stage.decision_function(X)
        top = np.argpartition(-cheap, keep - 1)[:keep] if len(X) > keep else np.arange(len(X))
        p, raw = self.ranker.calibrated_and_raw(X[top])
        ranked = top[np.lexsort((top, -raw, -p))]
        scores = np.full(len(X), np.nan)
        scores[top] = p
        raws = np.full(len(X), np.nan)
        raws[top] = raw
        if len(top) == len(X):
            return Ranking(ranked.astype(np.int64), scores, raws)
        cut = np.ones(len(X), dtype=bool)
        cut[top] = False
        rest = np.flatnonzero(cut)
        rest = rest[np.argsort(-cheap[rest], kind="stable")]
        return Ranking(np.r_[ranked, rest].astype(np.int64), scores, raws)


def _choose(validation: dict[str, dict]) -> str:
    """The family that ranks best on the validation window, then the calibration of it with
    the lowest log loss (the score must be an honest probability)."""
    def family(name: str) -> str:
        return name.split("+")[0]
    best: dict[str, float] = {}
    for name, m in validation.items():
        best[family(name)] = max(best.get(family(name), -1.0), m["ranking_auc"] or 0.0)
    top = max(best, key=best.__getitem__)
    return min((n for n in validation if family(n) == top),
               key=lambda n: validation[n]["log_loss"])


def pair_distances(P: ProfileMatrix, S: SlotMatrix, pi: np.ndarray, si: np.ndarray,
                   same_kommun_km: float) -> np.ndarray:
    return pair_distance_km(P.lat[pi], P.lon[pi], P.has_point[pi], P.kommun[pi], S.lat[si],
                            S.lon[si], S.has_point[si], S.kommun[si], same_kommun_km)


def unique_snapshots(snapshots) -> tuple[list[Mapping[str, Any]], np.ndarray]:
    """(the distinct snapshot objects in first-seen order, each row's index among them).
    Rows that share one snapshot object (a placement and its sampled negatives) share it."""
    first: dict[int, int] = {}
    unique: list[Mapping[str, Any]] = []
    index = np.empty(len(snapshots), dtype=np.int64)
    for k, snap in enumerate(snapshots):
        i = first.setdefault(id(snap), len(unique))
        if i == len(unique):
            unique.append(snap)
        index[k] = i
    return unique, index


@dataclass
class TrainingData:
    X: np.ndarray
    y: np.ndarray
    rows: pd.DataFrame


def training_subset(rows: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """The labelled rows the estimator learns from: all of them, or a uniform sample of
    `limit` (MAX_TRAINING_ROWS), in their order; sampled rows are left out. The same rows
    give the same subset (a fixed seed): `negatives.sample_negatives` and `fit_model` agree."""
    limit = MAX_TRAINING_ROWS if limit is None else limit
    labelled = rows[rows["source"] != "sampled"]
    if len(labelled) <= limit:
        return labelled
    keep = np.sort(np.random.default_rng(0).choice(len(labelled), size=limit, replace=False))
    return labelled.iloc[keep]


def training_matrix(rows: pd.DataFrame, slot_records: Mapping[int, Mapping[str, Any]],
                    vectorisers: Vectorisers, stats: EmployerStats, ref: ReferenceData,
                    same_kommun_km: float, subs: Substitutes,
                    outcomes: pd.DataFrame | None = None) -> TrainingData:
    """Features of labelled rows (see `history.labelled_rows`), each from its own snapshot,
    with employer statistics as of the row's proposal day (from `outcomes`, default the
    rows' own placements)."""
    slot_ids = sorted({int(s) for s in rows["slot_id"]})
    S = SlotMatrix.from_records([slot_records[s] for s in slot_ids], ref)
    ES = encode_slots(vectorisers, S, stats.arrays(S.employer))
    # Sampled negatives share their placement's snapshot: encode each snapshot once.
    snapshots, pi = unique_snapshots(rows["snapshot"])
    P = ProfileMatrix.from_records(snapshots, ref)
    EP = encode_profiles(vectorisers, P)
    si = np.searchsorted(np.asarray(slot_ids, dtype=np.int64),
                         rows["slot_id"].to_numpy(dtype=np.int64))
    dist = pair_distances(P, S, pi, si, same_kommun_km)
    if outcomes is None:
        outcomes = rows[rows["source"] == "placement"]
    outcomes = outcomes[["employer_id", "known_day", "label", "job"]]
    employer = as_of(rows[["employer_id", "day"]], outcomes, stats.prior_rate, stats.prior_job)
    X = pair_features(P, EP, S, ES, pi, si, dist, subs, employer)
    return TrainingData(X, rows["label"].to_numpy().astype(int), rows)


def fit_model(rows: pd.DataFrame, slot_records: Mapping[int, Mapping[str, Any]],
              ref: ReferenceData, *, same_kommun_km: float = 5.0,
              families: Sequence[str] | None = None, random_state: int = 0,
              sampled: pd.DataFrame | None = None) -> MatchModel:
    """Fit on labelled rows in time order: choose the model family on the newest
    VALIDATION_SHARE of the rows, then refit it on all of them. `sampled` negatives
    (negatives.sample_negatives) teach the estimator but never calibrate or validate."""
    # OpenMP threads in gradient boosting fight over 2 cores (seen 20x slower under load).
    with threadpool_limits(limits=1):
        return _fit_model(rows, slot_records, ref, same_kommun_km, families, random_state,
                          sampled)


def _fit_model(rows, slot_records, ref, same_kommun_km, families, random_state,
               sampled) -> MatchModel:
    if len(rows) < 20 or rows["label"].nunique() < 2:
        raise InsufficientData()
    # Employer statistics from every outcome; the estimator from the recent window.
    placements = rows[rows["source"] == "placement"]
    stats = EmployerStats.from_outcomes(placements)
    rows = training_subset(rows)
    if sampled is not None and len(sampled):
        rows = pd.concat([rows, sampled], ignore_index=True)
    rows = rows.sort_values(["day", "placement_id"], kind="stable").reset_index(drop=True)
    real = (rows["source"] != "sampled").to_numpy()
    weight = np.where(real, 1.0, SAMPLED_WEIGHT)
    vec = Vectorisers().fit([slot_records[int(s)] for s in set(rows["slot_id"])],
                            unique_snapshots(rows["snapshot"])[0])
    subs = Substitutes(ref)
    data = training_matrix(rows, slot_records, vec, stats, ref, same_kommun_km, subs,
                           outcomes=placements)
    cut = int(len(rows) * (1 - VALIDATION_SHARE))
    candidates = candidate_estimators(random_state)
    if families:
        candidates = {k: v for k, v in candidates.items() if k in families}
    validation = {}
    combos = {f"{name}+{method}": (est, method) for name, est in candidates.items()
              for method in CALIBRATIONS}
    fitted: dict[str, TimeCalibratedClassifier] = {}
    for name, (est, method) in combos.items():
        family = name.split("+")[0]
        if family in fitted:  # the same estimator, only calibrated the other way
            clf = fitted[family].recalibrated(method, data.X[:cut], data.y[:cut],
                                              calibration_mask=real[:cut])
        else:
            clf = fitted[family] = TimeCalibratedClassifier(clone(est), method=method).fit(
                data.X[:cut], data.y[:cut], calibration_mask=real[:cut],
                sample_weight=weight[:cut])
        held = np.flatnonzero(real[cut:]) + cut
        p = np.clip(clf.predict_proba(data.X[held])[:, -1], 1e-6, 1 - 1e-6)
        yv = data.y[held]
        # Ranking: successful placements against failed ones and the sampled slots nobody
        # chose, on the uncalibrated score (what orders a list).
        yr = data.y[cut:]
        validation[name] = {
            "log_loss": float(log_loss(yv, p, labels=[0, 1])),
            "brier": float(brier_score_loss(yv, p)),
            "auc": float(roc_auc_score(yv, p)) if len(np.unique(yv)) == 2 else None,
            "ranking_auc": float(roc_auc_score(yr, clf.raw_score(data.X[cut:])))
            if len(np.unique(yr)) == 2 else None,
        }
    chosen = _choose(validation)
    est, method = combos[chosen]
    ranker = TimeCalibratedClassifier(clone(est), method=method).fit(
        data.X, data.y, calibration_mask=real, sample_weight=weight)
    first = FirstStage().fit(data.X, data.y)
    info = {
        "estimator": chosen, "validation": validation, "features": list(FEATURES),
        "rows": len(rows), "positives": int(data.y.sum()),
        "placements": int((rows["source"] == "placement").sum()),
        "feedback": int((rows["source"] == "feedback").sum()),
        "sampled_negatives": int((~real).sum()),
        "window": {"first_day": int(rows["day"].min()), "last_day": int(rows["day"].max())},
    }
    return MatchModel(vectorisers=vec, employer_stats=stats, ranker=ranker, first_stage=first,
                      reference=np.median(data.X[real], axis=0),
                      same_kommun_km=same_kommun_km,
                      info=info, _subs=subs)
