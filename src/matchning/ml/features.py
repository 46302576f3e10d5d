"""Vectorisation of slots and profiles, and the pair features the ranker sees.

Never features: gender, age, birth country, health details or target group. None of them is
in a profile snapshot; adaptation needs act only through the hard rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import njit
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from matchning.ml.catalog import SECTORS, SIZE_RANK, SlotMatrix
from matchning.ml.profiles import ProfileMatrix
from matchning.ml.text import skill_labels, swedish_tokens
from matchning.reference import ReferenceData

# Feature columns, grouped: a group is what a reason talks about.
GROUPS: dict[str, tuple[str, ...]] = {
    "occupation": ("wish_level", "past_level", "past_years", "substitute"),
    "skills": ("required_cover", "nice_cover", "skills_matched", "skills_asked"),
    "text": ("text_similarity",),
    "distance": ("distance_km", "commute_share", "commute_margin_km"),
    "language": ("language_margin", "swedish_required"),
    "hours": ("hours_margin", "hours_known"),
    "support": ("needs_support", "supervisor", "support_missing"),
    "employer": ("employer_rate", "employer_placements", "employer_job_rate"),
    "job_chance": ("may_lead_to_job",),
    "workplace": ("physical_demand", "accessible", "capacity", "sector_public",
                  "sector_nonprofit", "size_band"),
    "person": ("own_car", "swedish_rank", "education"),
}
FEATURES: tuple[str, ...] = tuple(f for cols in GROUPS.values() for f in cols)
COLUMN = {name: i for i, name in enumerate(FEATURES)}
# Directions a sensible model must respect (HistGradientBoosting's monotonic_cst).
MONOTONE = {"wish_level": 1, "past_level": 1, "required_cover": 1, "nice_cover": 1,
            "distance_km": -1, "commute_share": -1, "commute_margin_km": 1, "language_margin": 1,
            "support_missing": -1, "employer_rate": 1}


EMPTY = "tomt"  # sentinel word / skill (see Vectorisers.fit)


def shared_digits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How many leading SSYK digits agree (0-4); -1 codes agree on nothing."""
    level = np.select([a == b, a // 10 == b // 10, a // 100 == b // 100,
                       a // 1000 == b // 1000], [4, 3, 2, 1], 0)
    return np.where((a < 0) | (b < 0), 0, level)


class Vectorisers(BaseEstimator, TransformerMixin):
    """Skill sets against JobTech labels (normalised) and stemmed Swedish TF-IDF.

    The vocabularies are fitted on the training window's slots only: a saved model holds no
    word a participant wrote, so erasing a person leaves nothing of them in the model files
    (docs/security.md). Profile-only words could not match a slot anyway. `transform_*` keep
    the vocabulary.
    """

    def __init__(self, min_df: int = 1, max_features: int | None = 50_000):
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, slot_records, profile_records=None):
        """`profile_records` is accepted for the callers' sake and deliberately unused."""
        self.skills_ = CountVectorizer(analyzer=skill_labels, binary=True, dtype=np.float32)
        # A sentinel document keeps the vocabulary non-empty when nobody lists a skill.
        self.skills_.fit([r.get("required_skills", []) + r.get("nice_skills", [])
                          for r in slot_records] + [[EMPTY]])
        self.text_ = TfidfVectorizer(analyzer=swedish_tokens, sublinear_tf=True,
                                     min_df=self.min_df, max_features=self.max_features,
                                     dtype=np.float32)
        self.text_.fit([slot_text(r) for r in slot_records] + [EMPTY])
        return self

    def skills(self, label_lists) -> sp.csr_matrix:
        return _counts(self.skills_, list(label_lists))

    def texts(self, texts) -> sp.csr_matrix:
        return _tfidf(self.text_, list(texts))


def _counts(vec: CountVectorizer, docs: list) -> sp.csr_matrix:
    """`vec.transform(docs)` by its own steps, without its per-call input validation (which
    costs more than the work for the one profile of a request): the same matrix, bit for
    bit (tests/test_features_fast.py)."""
    _, X = vec._count_vocab(docs, fixed_vocab=True)
    X = sp.csr_matrix(X)
    if vec.binary:
        X.data.fill(1)
    return X


def _tfidf(vec: TfidfVectorizer, docs: list) -> sp.csr_matrix:
    """`vec.transform(docs)` by its own steps, as `_counts`: counts, sublinear tf, idf, and
    rows scaled to unit length by scikit-learn's own routine."""
    tf = vec._tfidf
    X = _counts(vec, docs)
    if X.dtype not in (np.float32, np.float64) or tf.norm not in ("l2", None):
        return vec.transform(docs).tocsr()
    if tf.sublinear_tf:
        np.log(X.data, X.data)
        X.data += 1.0
    if tf.use_idf:
        X.data *= tf.idf_[X.indices]
    if tf.norm == "l2":
        inplace_csr_row_normalize_l2(X)
    return X


def slot_text(record) -> str:
    return f"{record.get('title', '')}\n{record.get('description', '')}"


@dataclass
class EncodedSlots:
    required: sp.csr_matrix
    nice: sp.csr_matrix
    text: sp.csr_matrix
    n_required: np.ndarray
    n_nice: np.ndarray
    employer_rate: np.ndarray
    employer_n: np.ndarray
    employer_job: np.ndarray
    capacity: np.ndarray
    sector: np.ndarray        # index into SECTORS
    size: np.ndarray          # SIZE_RANK, -1 unknown


@dataclass
class EncodedProfiles:
    skills: sp.csr_matrix
    text: sp.csr_matrix


def encode_slots(v: Vectorisers, slots: SlotMatrix, employer_arrays) -> EncodedSlots:
    recs = slots.records
    req = v.skills(r.get("required_skills") or [] for r in recs)
    nice = v.skills(r.get("nice_skills") or [] for r in recs)
    rate, n, job = employer_arrays
    return EncodedSlots(
        required=req, nice=nice, text=v.texts(slot_text(r) for r in recs),
        n_required=np.array([len(skill_labels(r.get("required_skills"))) for r in recs],
                            dtype=float),
        n_nice=np.array([len(skill_labels(r.get("nice_skills"))) for r in recs], dtype=float),
        employer_rate=rate, employer_n=n, employer_job=job,
        capacity=np.array([float(r.get("capacity") or 1) for r in recs]),
        sector=np.array([SECTORS.index(r["sector"]) if r.get("sector") in SECTORS else 0
                         for r in recs]),
        size=np.array([SIZE_RANK.get(r.get("size_band"), -1) for r in recs], dtype=float),
    )


def encode_profiles(v: Vectorisers, profiles: ProfileMatrix) -> EncodedProfiles:
    recs = profiles.records
    return EncodedProfiles(skills=v.skills(r.get("skills") or [] for r in recs),
                           text=v.texts(r.get("profile_text") or "" for r in recs))


def rowwise_dot(a: sp.csr_matrix, ai: np.ndarray, b: sp.csr_matrix, bi: np.ndarray
                ) -> np.ndarray:
    """Dot products of the row pairs (a[ai[k]], b[bi[k]])."""
    if len(ai) == 0:
        return np.zeros(0)
    if np.all(ai == ai[0]):  # one participant against many slots: a matrix-vector product
        vector = a[ai[0]].toarray().ravel()
        dtype = np.result_type(b.dtype, vector.dtype)
        if dtype in (np.float32, np.float64):
            # scipy's `b[bi] @ vector`, term by term in the same order and precision, without
            # copying the rows out first (tests/test_features_fast.py holds them equal).
            out = np.zeros(len(bi), dtype=dtype)
            _rows_dot(b.indptr, b.indices, b.data.astype(dtype, copy=False),
                      np.asarray(bi, dtype=np.int64), vector.astype(dtype, copy=False), out)
            return out
        return np.asarray(b[bi] @ a[ai[0]].T.toarray()).ravel()
    return np.asarray(a[ai].multiply(b[bi]).sum(axis=1)).ravel()


def warm_features() -> None:
    """Compile `_rows_dot` for the vectorisers' float32 matrices."""
    one = sp.csr_matrix(np.ones((1, 2), dtype=np.float32))
    rowwise_dot(one, np.zeros(1, dtype=np.int64), one, np.zeros(1, dtype=np.int64))


@njit(cache=True, nogil=True)
def _rows_dot(indptr, indices, data, rows, vector, out):  # pragma: no cover - compiled
    for k in range(rows.shape[0]):
        r = rows[k]
        acc = out[k]
        for j in range(indptr[r], indptr[r + 1]):
            acc += data[j] * vector[indices[j]]
        out[k] = acc


class Substitutes:
    """JobTech substitutability (percent) between SSYK groups, looked up for arrays."""

    def __init__(self, ref: ReferenceData):
        keys, pcts = [], []
        for a, subs in ref.substitutes.items():
            for b, pct in subs:
                keys.append(int(a) * 10_000 + int(b))
                pcts.append(pct / 100.0)
        order = np.argsort(keys)
        self.keys = np.asarray(keys, dtype=np.int64)[order]
        self.pcts = np.asarray(pcts, dtype=float)[order]

    def lookup(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if len(self.keys) == 0:
            return np.zeros(np.broadcast(a, b).shape)
        key = a * 10_000 + b
        pos = np.clip(np.searchsorted(self.keys, key), 0, len(self.keys) - 1)
        return np.where((self.keys[pos] == key) & (a >= 0) & (b >= 0), self.pcts[pos], 0.0)


def pair_features(P: ProfileMatrix, EP: EncodedProfiles, S: SlotMatrix, ES: EncodedSlots,
                  pi: np.ndarray, si: np.ndarray, distance_km: np.ndarray,
                  subs: Substitutes, employer: tuple | None = None) -> np.ndarray:
    """The feature matrix (pairs x FEATURES) of the pairs (pi[k], si[k]).

    `employer` overrides the slots' employer statistics per pair (training rows use the
    statistics as of their own proposal day).
    """
    n = len(pi)
    X = np.zeros((n, len(FEATURES)), dtype=float)
    col = lambda name: COLUMN[name]  # noqa: E731
    occ = S.occupation[si][:, None]
    wished, past = P.wished[pi], P.past[pi]
    X[:, col("wish_level")] = shared_digits(wished, occ).max(axis=1)
    past_level = shared_digits(past, occ)
    X[:, col("past_level")] = past_level.max(axis=1)
    X[:, col("past_years")] = np.minimum(
        np.where(past_level >= 3, P.past_years[pi], 0.0).max(axis=1), 10.0)
    X[:, col("substitute")] = np.maximum(subs.lookup(wished, occ).max(axis=1),
                                         subs.lookup(past, occ).max(axis=1))

    req_hit = rowwise_dot(EP.skills, pi, ES.required, si)
    nice_hit = rowwise_dot(EP.skills, pi, ES.nice, si)
    n_req, n_nice = ES.n_required[si], ES.n_nice[si]
    X[:, col("required_cover")] = np.where(n_req > 0, req_hit / np.maximum(n_req, 1), 1.0)
    X[:, col("nice_cover")] = np.where(n_nice > 0, nice_hit / np.maximum(n_nice, 1), 0.0)
    X[:, col("skills_matched")] = req_hit + nice_hit
    X[:, col("skills_asked")] = n_req
    X[:, col("text_similarity")] = rowwise_dot(EP.text, pi, ES.text, si)

    commute = np.maximum(P.commute[pi], 1.0)
    X[:, col("distance_km")] = distance_km
    X[:, col("commute_share")] = distance_km / commute
    X[:, col("commute_margin_km")] = P.commute[pi] - distance_km

    req_sv = S.swedish[si]
    X[:, col("language_margin")] = P.swedish[pi] - np.maximum(req_sv, 0)
    X[:, col("swedish_required")] = req_sv >= 0
    hours, max_hours = S.hours[si], P.max_hours[pi]
    known = ~np.isnan(hours)
    X[:, col("hours_margin")] = np.where(known & ~np.isnan(max_hours),
                                         np.nan_to_num(max_hours) - np.nan_to_num(hours), 0.0)
    X[:, col("hours_known")] = known

    needs, offers = P.needs_supervisor[pi], S.supervisor[si]
    X[:, col("needs_support")] = needs
    X[:, col("supervisor")] = offers
    X[:, col("support_missing")] = needs & ~offers

    rate, count, job = employer if employer is not None else (
        ES.employer_rate[si], ES.employer_n[si], ES.employer_job[si])
    X[:, col("employer_rate")] = rate
    X[:, col("employer_placements")] = np.log1p(count)
    X[:, col("employer_job_rate")] = job
    X[:, col("may_lead_to_job")] = S.may_lead[si]

    X[:, col("physical_demand")] = S.demand[si]
    X[:, col("accessible")] = S.accessible[si]
    X[:, col("capacity")] = ES.capacity[si]
    X[:, col("sector_public")] = ES.sector[si] == 1
    X[:, col("sector_nonprofit")] = ES.sector[si] == 2
    X[:, col("size_band")] = ES.size[si]
    X[:, col("own_car")] = P.own_car[pi]
    X[:, col("swedish_rank")] = P.swedish[pi]
    X[:, col("education")] = np.nan_to_num(P.education[pi], nan=-1.0)
    return X
