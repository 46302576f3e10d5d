"""The request path's encodings skip scikit-learn's and scipy's per-call wrappers: they must
give the same numbers, bit for bit, as the wrapped calls (TF-IDF and skill counts of a
profile, the profile's dot products with the slots' rows)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import scipy.sparse as sp

from matchning.demo.config import DemoConfig
from matchning.demo.rows import profile, slot_rows
from matchning.demo.world import build_world
from matchning.ml.features import Vectorisers, rowwise_dot, slot_text


@pytest.fixture(scope="module")
def world():
    w = build_world(DemoConfig(participants=200, employers=60, slots=300, months=4,
                               today=date(2026, 11, 1)))
    ids = {"slots": 0, "employers": 0, "users": 0}
    slots = list(slot_rows(w, ids))
    people = [profile(w, i) for i in range(len(w.people))]
    return slots, people, Vectorisers().fit(slots)


def _same(a: sp.csr_matrix, b) -> None:
    b = sp.csr_matrix(b)
    assert type(a) is sp.csr_matrix and a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)


def test_texts_equal_tfidf_transform(world):
    slots, people, vec = world
    texts = [p["profile_text"] or "" for p in people] + [slot_text(s) for s in slots]
    texts += ["", "och i att", "okändaord helt utanför", "Lager lager LAGER truck"]
    _same(vec.texts(texts), vec.text_.transform(texts))
    for t in texts[:50]:  # one at a time, as a request encodes its participant
        _same(vec.texts([t]), vec.text_.transform([t]))


def test_skills_equal_count_transform(world):
    _, people, vec = world
    lists = [p["skills"] for p in people] + [[], ["Okänd färdighet"]]
    _same(vec.skills(lists), vec.skills_.transform(lists))


def test_rowwise_dot_equals_scipy(world):
    slots, people, vec = world
    S = vec.texts(slot_text(s) for s in slots)
    R = vec.skills(s["required_skills"] for s in slots)
    P = vec.texts(p["profile_text"] or "" for p in people)
    K = vec.skills(p["skills"] for p in people)
    rng = np.random.default_rng(0)
    for who in range(0, len(people), 7):
        bi = rng.choice(len(slots), size=150)  # repeats and any order
        ai = np.full(len(bi), who)
        for a, b in ((P, S), (K, R)):
            got = rowwise_dot(a, ai, b, bi)
            want = np.asarray(b[bi] @ a[ai[0]].T.toarray()).ravel()
            assert got.dtype == want.dtype and np.array_equal(got, want)
    # Many participants at once keep the general path.
    ai = rng.integers(0, len(people), 80)
    bi = rng.integers(0, len(slots), 80)
    assert np.allclose(rowwise_dot(P, ai, S, bi),
                       [P[i].multiply(S[j]).sum() for i, j in zip(ai, bi, strict=True)])
