"""The allocation solvers (ml/allocation.py) against brute force on small random problems."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchning.ml import allocation as A

TOL = 1e-6


@st.composite
def problems(draw, with_pins: bool = True, with_groups: bool = False):
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 3))
    capacity = draw(st.lists(st.integers(0, 2), min_size=m, max_size=m))
    cells = [(i, j) for i in range(n) for j in range(m)]
    chosen = draw(st.lists(st.sampled_from(cells), unique=True, max_size=len(cells)))
    scores = draw(st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=len(chosen),
                           max_size=len(chosen)))
    pairs = [(i, j, round(s, 3)) for (i, j), s in zip(chosen, scores, strict=True)]
    excluded = draw(st.lists(st.sampled_from(chosen), unique=True, max_size=2)) \
        if chosen else []
    pinned: list[tuple[int, int]] = []
    if with_pins and chosen:
        left = list(capacity)
        for i, j, _ in pairs[:draw(st.integers(0, 2))]:
            if (i, j) not in excluded and left[j] > 0 and i not in dict(pinned):
                pinned.append((i, j))
                left[j] -= 1
    groups = None
    if with_groups:
        labels = draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n))
        groups = {g: [i for i, lab in enumerate(labels) if lab == g] for g in set(labels)}
    return A.Problem.build(n, capacity, pairs, groups=groups, pinned=pinned,
                           excluded=excluded)


def brute_force(p: A.Problem, floor: float | None = None) -> float | None:
    """The best total over every assignment that keeps the rules (None: none does)."""
    look = {(int(a), int(b)): float(s) for a, b, s in zip(p.pi, p.si, p.score, strict=True)}
    options = []
    pins = dict(p.pinned)
    for i in range(p.n_participants):
        if i in pins:
            options.append([pins[i]])
        else:
            options.append([-1] + [j for j in range(len(p.capacity))
                                   if (i, j) in look and (i, j) not in p.excluded])
    best = None
    for combo in itertools.product(*options):
        arr = np.array(combo)
        if (np.bincount(arr[arr >= 0], minlength=len(p.capacity)) > p.capacity).any():
            continue
        if floor is not None:
            means = A.group_means(p, arr, look)
            if means and min(means.values()) < floor * max(means.values()) - 1e-9:
                continue
        total = sum(look.get((i, j), 0.0) for i, j in enumerate(combo) if j >= 0)
        if best is None or total > best:
            best = total
    return best


FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(problems())
def test_exact_matches_brute_force_and_keeps_the_rules(p: A.Problem) -> None:
    plan = A.solve_exact(p)
    assert A.check_plan(p, plan.slot_of) == []
    assert plan.value == pytest.approx(brute_force(p), abs=TOL)


@FAST
@given(problems(with_groups=True), st.sampled_from([0.5, 0.8, 1.0]))
def test_fairness_floor_matches_brute_force(p: A.Problem, floor: float) -> None:
    best = brute_force(p, floor)
    if best is None:  # the pins make the floor unreachable
        with pytest.raises(A.AllocationError):
            A.solve_exact(p, floor)
        return
    plan = A.solve_exact(p, floor)
    assert A.check_plan(p, plan.slot_of) == []
    assert plan.value == pytest.approx(best, abs=1e-5)
    look = {(int(a), int(b)): float(s) for a, b, s in zip(p.pi, p.si, p.score, strict=True)}
    means = A.group_means(p, plan.slot_of, look)
    if means:
        assert min(means.values()) >= floor * max(means.values()) - 1e-6


@FAST
@given(problems())
def test_ot_and_baselines_are_feasible_and_never_beat_exact(p: A.Problem) -> None:
    exact = A.solve_exact(p).value
    for plan in (A.solve_ot(p), A.greedy(p), A.independent_top1(p)):
        assert A.check_plan(p, plan.slot_of) == [], plan.method
        assert plan.value <= exact + TOL, plan.method


def test_floor_lifts_the_worse_group() -> None:
    # Two places; group a scores higher everywhere, so the unconstrained optimum serves a only.
    p = A.Problem.build(4, [1, 1], [(0, 0, 0.9), (1, 1, 0.8), (2, 0, 0.5), (3, 1, 0.4)],
                        groups={"a": [0, 1], "b": [2, 3]})
    assert set(A.solve_exact(p).slot_of[[0, 1]]) == {0, 1}
    fair = A.solve_exact(p, fairness_floor=0.5)
    look = {(0, 0): 0.9, (1, 1): 0.8, (2, 0): 0.5, (3, 1): 0.4}
    means = A.group_means(p, fair.slot_of, look)
    assert means["b"] >= 0.5 * means["a"]
    assert fair.value == pytest.approx(0.9 + 0.4)


def test_pins_stay_and_exclusions_stay_out() -> None:
    p = A.Problem.build(3, [1, 1], [(0, 0, 0.9), (1, 0, 0.8), (1, 1, 0.1), (2, 1, 0.7)],
                        pinned=[(1, 0)], excluded=[(2, 1)])
    for method in ("exact", "ot", "greedy", "top1"):
        plan = A.solve(p, method)
        assert plan.slot_of[1] == 0, method
        assert plan.slot_of[2] == A.UNPLACED, method
        assert plan.slot_of[0] == A.UNPLACED, method  # slot 0 is full with the pin


@pytest.mark.parametrize("pinned", [[(0, 0), (1, 0)], [(0, 0), (0, 1)], [(5, 0)]])
def test_bad_pins_are_refused(pinned) -> None:
    p = A.Problem.build(2, [1, 1], [(0, 0, 0.5), (1, 0, 0.5)], pinned=pinned)
    with pytest.raises(A.AllocationError):
        A.solve_exact(p)


def test_the_floor_needs_the_exact_method() -> None:
    p = A.Problem.build(1, [1], [(0, 0, 0.5)])
    with pytest.raises(A.AllocationError, match="exact"):
        A.solve(p, "ot", fairness_floor=0.8)


def test_top1_collisions_go_to_the_first_comer() -> None:
    p = A.Problem.build(2, [1, 1], [(0, 0, 0.9), (1, 0, 0.8), (1, 1, 0.7)])
    assert list(A.independent_top1(p).slot_of) == [0, A.UNPLACED]
    assert list(A.independent_top1(p, order=np.array([1, 0])).slot_of) == [A.UNPLACED, 0]
    assert list(A.greedy(p).slot_of) == [0, 1]


def _random_problem(seed: int, n: int, m: int, per: int) -> A.Problem:
    rng = np.random.default_rng(seed)
    pairs = [(i, int(j), float(s)) for i in range(n)
             for j, s in zip(rng.choice(m, per, replace=False), rng.beta(2, 3, per),
                             strict=True)]
    return A.Problem.build(n, rng.integers(1, 3, m), pairs)


def test_sparse_sinkhorn_agrees_with_pot(monkeypatch: pytest.MonkeyPatch) -> None:
    p = _random_problem(3, 60, 25, 6)
    dense = A.solve_ot(p, reg=0.05)
    monkeypatch.setattr(A, "DENSE_CELLS", 0)
    sparse = A.solve_ot(p, reg=0.05)
    assert np.allclose(dense.prices, sparse.prices, atol=1e-4)
    assert list(dense.slot_of) == list(sparse.slot_of)


def test_ot_prices_mark_the_contested_slot() -> None:
    # Everyone's favourite is slot 0 (one place); slot 1 is nearly as good and empty.
    pairs = [(i, 0, 0.9) for i in range(5)] + [(i, 1, 0.8) for i in range(5)]
    plan = A.solve_ot(A.Problem.build(5, [1, 4], pairs), reg=0.02)
    assert plan.prices[0] > plan.prices[1] + 0.05
    spread = A.spread_scores(np.array([0.9, 0.8]), np.array([0, 1]), plan.prices)
    assert spread[1] > spread[0]  # the spread list puts the free slot first


def test_ot_on_a_larger_problem_comes_close_to_exact() -> None:
    p = _random_problem(1, 300, 120, 8)
    exact, ot, greedy, top1 = (A.solve_exact(p), A.solve_ot(p), A.greedy(p),
                               A.independent_top1(p))
    assert ot.value <= exact.value + TOL
    assert ot.value >= 0.95 * exact.value
    assert top1.value < exact.value and greedy.value <= exact.value + TOL


# --- the evaluation's scoring (ml/allocation_eval.py) ----------------------------------------

def test_plans_are_scored_by_the_truth_not_by_the_model() -> None:
    from matchning.ml import allocation_eval as E
    p = A.Problem.build(3, [1, 1], [(0, 0, 0.9), (1, 0, 0.2), (1, 1, 0.3), (2, 1, 0.8)],
                        groups={"a": [0, 1], "b": [2]})
    truth = {(0, 0): 0.1, (1, 0): 0.7, (1, 1): 0.6, (2, 1): 0.5}
    rows = {r.method: r for r in E.run_methods(p, truth)}
    exact = rows["exact"]
    assert exact.model_expected == pytest.approx(0.9 + 0.8)
    assert exact.expected_completions == pytest.approx(0.1 + 0.5)  # the truth of its pairs
    assert exact.places_filled == 2 and exact.without_proposal == 1
    assert exact.mean_success == pytest.approx(0.6 / 3)
    assert exact.groups == {"a": pytest.approx(0.05), "b": pytest.approx(0.5)}
    assert set(rows) == set(E.METHODS)
    for r in rows.values():
        assert r.model_expected <= exact.model_expected + TOL


def test_the_congested_problem_has_fewer_places_than_people() -> None:
    from matchning.ml import allocation_eval as E
    p = _random_problem(2, 200, 150, 6)
    c = E.congested(p, 0.5, seed=1)
    assert int(p.capacity.sum()) > 200
    assert 100 <= int(c.capacity.sum()) <= 100 + int(p.capacity.max())
    assert ((c.capacity == p.capacity) | (c.capacity == 0)).all()
    for r in E.run_methods(c, {}, seed=1):
        assert r.places_filled <= int(c.capacity.sum())


def test_spread_top1_is_a_feasible_plan() -> None:
    p = _random_problem(4, 120, 40, 5)
    prices = A.solve_ot(p).prices
    plan = A.independent_top1(p, prices=prices)
    assert A.check_plan(p, plan.slot_of) == [] and plan.method == "spread_top1"
