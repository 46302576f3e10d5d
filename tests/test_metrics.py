"""Metrics against values computed by hand (arithmetic in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matchning.ml import metrics as m

LOG2_3 = math.log2(3)  # 1.58496...
# gains [0, 2, 1] sorted descending = [2, 1, 0]: IDCG = 2/log2(2) + 1/log2(3) + 0 = 2.63093
IDCG_021 = 2 + 1 / LOG2_3


def test_ndcg_ranking_1_0_2() -> None:
    # scores rank candidates 1, 0, 2 -> gains in rank order [2, 0, 1]
    # DCG = 2/log2(2) + 0/log2(3) + 1/log2(4) = 2 + 0 + 0.5 = 2.5
    value = m.ndcg_at_k(np.array([0.5, 0.9, 0.1]), np.array([0.0, 2.0, 1.0]))
    assert value == pytest.approx(2.5 / IDCG_021)  # 0.95023


def test_ndcg_ranking_2_0_1() -> None:
    # order 2, 0, 1 -> gains [1, 0, 2]; DCG = 1/1 + 0 + 2/log2(4) = 1 + 1 = 2
    value = m.ndcg_at_k(np.array([0.5, 0.1, 0.9]), np.array([0.0, 2.0, 1.0]))
    assert value == pytest.approx(2.0 / IDCG_021)  # 0.76019


def test_ndcg_perfect_and_cut_at_k() -> None:
    gains = np.array([0.0, 2.0, 1.0])
    # ideal order 1, 2, 0 -> DCG == IDCG
    assert m.ndcg_at_k(np.array([0.0, 3.0, 2.0]), gains) == pytest.approx(1.0)
    # k=1, order 1, 0, 2: DCG@1 = 2 = IDCG@1
    assert m.ndcg_at_k(np.array([0.5, 0.9, 0.1]), gains, k=1) == pytest.approx(1.0)
    # k=2, order 1, 0, 2: DCG@2 = 2 + 0 = 2; IDCG@2 = 2 + 1/log2(3)
    assert m.ndcg_at_k(np.array([0.5, 0.9, 0.1]), gains, k=2) == pytest.approx(2 / IDCG_021)


def test_ndcg_ties_keep_candidate_order() -> None:
    # all scores equal -> order 0, 1, 2 -> gains [0, 2, 1]
    # DCG = 0 + 2/log2(3) + 1/log2(4) = 1.26186 + 0.5 = 1.76186
    value = m.ndcg_at_k(np.ones(3), np.array([0.0, 2.0, 1.0]))
    assert value == pytest.approx((2 / LOG2_3 + 0.5) / IDCG_021)  # 0.66967


def test_ndcg_all_zero_gains_is_nan() -> None:
    assert math.isnan(m.ndcg_at_k(np.array([0.3, 0.2]), np.zeros(2)))


def test_ndcg_shape_mismatch() -> None:
    with pytest.raises(ValueError):
        m.ndcg_at_k(np.ones(3), np.ones(2))


def test_top_k_ties_and_order() -> None:
    # 0.5 at positions 1 and 3: the earlier one first
    assert m.top_k(np.array([0.1, 0.5, 0.9, 0.5]), 3).tolist() == [2, 1, 3]
    assert m.top_k(np.array([0.1, 0.5]), 10).tolist() == [1, 0]
    assert m.top_k(np.array([0.1, 0.5]), 0).tolist() == []


def test_recall_at_k() -> None:
    scores = np.array([0.4, 0.3, 0.2, 0.1])  # order 0, 1, 2, 3
    relevant = np.array([False, True, False, True])  # 2 relevant
    assert m.recall_at_k(scores, relevant, k=2) == pytest.approx(0.5)  # top 0,1 holds 1 of 2
    assert m.recall_at_k(scores, relevant, k=1) == 0.0  # top 0 holds none
    assert m.recall_at_k(scores, relevant, k=4) == pytest.approx(1.0)
    assert math.isnan(m.recall_at_k(scores, np.zeros(4, dtype=bool), k=2))


def test_reciprocal_rank() -> None:
    scores = np.array([0.4, 0.3, 0.2, 0.1])
    # first relevant (index 1) is at rank 2 -> 1/2
    assert m.reciprocal_rank(scores, np.array([False, True, False, True])) == pytest.approx(0.5)
    # ties: order 0, 1, 2 -> relevant index 2 at rank 3 -> 1/3
    assert m.reciprocal_rank(np.ones(3), np.array([False, False, True])) == pytest.approx(1 / 3)
    assert math.isnan(m.reciprocal_rank(scores, np.zeros(4, dtype=bool)))


def test_catalogue_coverage() -> None:
    # shown {1, 2, 3} of catalogue {1..5} = 3/5; id 9 is not in the catalogue
    assert m.catalogue_coverage([[1, 2], [2, 3, 9]], [1, 2, 3, 4, 5]) == pytest.approx(0.6)
    assert m.catalogue_coverage([], [1, 2]) == 0.0
    assert m.catalogue_coverage([[1]], []) == 0.0


def test_brier_score() -> None:
    # (0.9-1)² + (0.2-0)² + (0.6-1)² + (0-0)² = 0.01 + 0.04 + 0.16 + 0 = 0.21; / 4 = 0.0525
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.6, 0.0])
    assert m.brier_score(y, p) == pytest.approx(0.0525)


Y = np.array([0, 1, 0, 1, 1])
P = np.array([0.1, 0.3, 0.6, 0.8, 1.0])


def test_ece_two_bins() -> None:
    # bin [0, .5): p 0.1, 0.3 -> mean 0.2; y 0, 1 -> 0.5; |gap| 0.3, n=2
    # bin [.5, 1]: p 0.6, 0.8, 1.0 -> mean 0.8; y 0, 1, 1 -> 2/3; |gap| 2/15, n=3
    # ECE = (2·0.3 + 3·2/15) / 5 = (0.6 + 0.4) / 5 = 0.2
    assert m.expected_calibration_error(Y, P, n_bins=2) == pytest.approx(0.2)


def test_ece_perfect_and_empty() -> None:
    # every bin's mean p equals its observed rate: [0.0, 0.0] and [1.0, 1.0]
    assert m.expected_calibration_error(np.array([0, 0, 1, 1]),
                                        np.array([0.0, 0.0, 1.0, 1.0])) == pytest.approx(0.0)
    assert math.isnan(m.expected_calibration_error(np.array([]), np.array([])))


def test_reliability_table() -> None:
    table = m.reliability_table(Y, P, n_bins=10)
    assert list(table.columns) == ["bin_lo", "bin_hi", "mean_predicted", "observed_rate",
                                   "count"]
    # each p in its own bin; p == 1.0 lands in the last bin [0.9, 1.0]
    assert table["bin_lo"].tolist() == pytest.approx([0.1, 0.3, 0.6, 0.8, 0.9])
    assert table["bin_hi"].tolist() == pytest.approx([0.2, 0.4, 0.7, 0.9, 1.0])
    assert table["mean_predicted"].tolist() == pytest.approx(P.tolist())
    assert table["observed_rate"].tolist() == pytest.approx(Y.tolist())
    assert table["count"].tolist() == [1] * 5
    two = m.reliability_table(Y, P, n_bins=2)
    assert two["mean_predicted"].tolist() == pytest.approx([0.2, 0.8])
    assert two["observed_rate"].tolist() == pytest.approx([0.5, 2 / 3])
    assert two["count"].tolist() == [2, 3]


def test_mean_ignoring_nan() -> None:
    assert m.mean_ignoring_nan([1.0, float("nan"), 3.0, None]) == pytest.approx(2.0)
    assert math.isnan(m.mean_ignoring_nan([float("nan"), None]))
    assert math.isnan(m.mean_ignoring_nan([]))


def test_all_is_complete() -> None:
    assert sorted(m.__all__) == sorted(
        name for name in vars(m) if callable(getattr(m, name)) and not name.startswith("_")
        and getattr(m, name).__module__ == m.__name__
    )
