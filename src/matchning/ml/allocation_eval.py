"""Scoring allocation plans against the demo generator's true probabilities (pure).

An optimiser always wins on its own objective, so a plan is judged by the true probability
of each of its pairs, never by the model's score (docs/allocation.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from matchning.ml import allocation as A

__all__ = ["METHODS", "congested", "run_methods", "score_plan"]

METHODS = ("top1", "spread_top1", "greedy", "exact", "ot")


@dataclass(frozen=True)
class Scored:
    method: str
    expected_completions: float      # sum of the true p of the plan's pairs
    model_expected: float            # the same by the model's scores (its own objective)
    places_filled: int
    places: int
    participants: int
    without_proposal: int
    mean_success: float              # expected completions per participant
    groups: dict[str, float]         # mean true p per participant of each target group
    seconds: float


def score_plan(p: A.Problem, plan: A.Plan, truth: Mapping[tuple[int, int], float]) -> Scored:
    """`truth`: (participant index, slot index) -> true probability (absent: 0)."""
    n = p.n_participants
    true = np.array([truth.get((i, int(j)), 0.0) if j >= 0 else 0.0
                     for i, j in enumerate(plan.slot_of)])
    groups = {g: float(true[m].mean()) for g, m in sorted(p.groups.items()) if len(m)}
    return Scored(plan.method, float(true.sum()), plan.value, plan.placed,
                  int(p.capacity.sum()), n, n - plan.placed,
                  float(true.sum() / n) if n else 0.0, groups, plan.seconds)


def run_methods(p: A.Problem, truth: Mapping[tuple[int, int], float], *, seed: int = 0,
                methods: Sequence[str] = METHODS, reg: float = 0.02) -> list[Scored]:
    """Every method on the same problem, scored against the truth. Independent top-1 lets
    the participants come in a random order (seeded): the first to ask gets the place;
    spread top-1 is the same with each one's best by score less the OT plan's price (what
    `?spread=true` shows first; the price solve is counted in its time)."""
    out = []
    order = np.random.default_rng(seed).permutation(p.n_participants)
    for m in methods:
        if m == "top1":
            plan = A.independent_top1(p, order)
        elif m == "spread_top1":
            ot = A.solve_ot(p, reg)
            plan = A.independent_top1(p, order, prices=ot.prices)
            plan.seconds += ot.seconds
        elif m == "ot":
            plan = A.solve_ot(p, reg)
        else:
            plan = A.solve(p, m)
        out.append(score_plan(p, plan, truth))
    return out


def congested(p: A.Problem, places_per_participant: float, seed: int = 0) -> A.Problem:
    """The same problem with slots dropped at random until the free places are about
    `places_per_participant` times the participants (fewer places than people)."""
    target = round(places_per_participant * p.n_participants)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(p.capacity))
    keep = np.zeros(len(p.capacity), dtype=bool)
    total = 0
    for j in order:
        if total >= target:
            break
        keep[j] = True
        total += int(p.capacity[j])
    cap = np.where(keep, p.capacity, 0)
    return A.Problem(p.n_participants, cap, p.pi, p.si, p.score, p.groups, p.pinned,
                     p.excluded)
