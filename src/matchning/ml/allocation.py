"""Capacity-aware allocation: who goes where when places are scarce (docs/allocation.md).

Pure: participants and slots are 0-based indices, feasible pairs come with the model's
calibrated score (the probability that the placement is completed). A plan gives each
participant at most one slot and each slot at most its free places, on feasible pairs only.

- `solve_exact`: the plan with the highest total expected completions. Without a fairness
  floor a sparse minimum-weight bipartite matching (slots expanded by their places, one
  "not placed" column per participant); with a floor a MILP (HiGHS through scipy).
- `solve_ot`: the soft version, entropic optimal transport (POT's stabilised Sinkhorn;
  a sparse log-domain Sinkhorn of our own beyond DENSE_CELLS), rounded to a feasible plan. Its dual
  potentials give each slot a congestion price (`Plan.prices`).
- `independent_top1`, `greedy`: the baselines of the evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

__all__ = ["DENSE_CELLS", "AllocationError", "Plan", "Problem", "check_plan", "greedy",
           "group_means", "independent_top1", "solve", "solve_exact", "solve_ot",
           "spread_scores"]

DENSE_CELLS = 20_000  # above this many matrix cells the OT runs on the pairs only (faster)
UNPLACED = -1
MILP_SECONDS = 60.0  # the fairness-floor MILP stops here with its best plan so far


class AllocationError(ValueError):
    """The problem cannot be solved as asked (bad pins, an unreachable fairness floor)."""


@dataclass(frozen=True)
class Problem:
    """n participants, len(capacity) slots and the feasible pairs (pi[k], si[k], score[k]).

    `groups` maps a target group to its participants (a participant may be in several; only
    the fairness floor reads it). `pinned` pairs are decided already and stay in every plan;
    `excluded` pairs never enter one."""

    n_participants: int
    capacity: np.ndarray
    pi: np.ndarray
    si: np.ndarray
    score: np.ndarray
    groups: Mapping[str, np.ndarray] = field(default_factory=dict)
    pinned: tuple[tuple[int, int], ...] = ()
    excluded: frozenset[tuple[int, int]] = frozenset()

    @staticmethod
    def build(n_participants: int, capacity: Iterable[int], pairs: Iterable[tuple[int, int,
              float]], *, groups: Mapping[str, Iterable[int]] | None = None,
              pinned: Iterable[tuple[int, int]] = (), excluded: Iterable[tuple[int, int]] = ()
              ) -> Problem:
        rows = list(pairs)
        return Problem(
            n_participants=int(n_participants),
            capacity=np.asarray(list(capacity), dtype=np.int64),
            pi=np.array([r[0] for r in rows], dtype=np.int64),
            si=np.array([r[1] for r in rows], dtype=np.int64),
            score=np.array([r[2] for r in rows], dtype=np.float64),
            groups={g: np.asarray(sorted(set(m)), dtype=np.int64)
                    for g, m in (groups or {}).items()},
            pinned=tuple((int(a), int(b)) for a, b in pinned),
            excluded=frozenset((int(a), int(b)) for a, b in excluded))


@dataclass
class Plan:
    method: str
    slot_of: np.ndarray          # (n,) slot index per participant, UNPLACED (-1) for none
    value: float                 # total score of the plan's pairs (pins included)
    seconds: float
    prices: np.ndarray | None = None  # OT only: each slot's congestion price, >= 0

    @property
    def placed(self) -> int:
        return int((self.slot_of >= 0).sum())


# --- shared preparation --------------------------------------------------------------------

@dataclass
class _Free:
    """The problem with the pins taken out: the pairs left to choose from and the places
    left on each slot."""

    pi: np.ndarray
    si: np.ndarray
    score: np.ndarray
    capacity: np.ndarray
    slot_of: np.ndarray  # pins already in


def _score_lookup(p: Problem) -> dict[tuple[int, int], float]:
    return {(int(a), int(b)): float(s) for a, b, s in zip(p.pi, p.si, p.score, strict=True)}


def _validate(p: Problem) -> None:
    m = len(p.capacity)
    if (p.capacity < 0).any():
        raise AllocationError("En praktikplats kan inte ha ett negativt antal lediga platser.")
    if len(p.pi) and (p.pi.min() < 0 or p.pi.max() >= p.n_participants
                      or p.si.min() < 0 or p.si.max() >= m):
        raise AllocationError("Ett par pekar på en deltagare eller plats som inte finns.")
    if len(p.score) and (np.isnan(p.score).any() or p.score.min() < 0 or p.score.max() > 1):
        raise AllocationError("Poängen ska vara sannolikheter mellan 0 och 1.")


def _free(p: Problem) -> _Free:
    _validate(p)
    slot_of = np.full(p.n_participants, UNPLACED, dtype=np.int64)
    cap = p.capacity.copy()
    for a, b in p.pinned:
        if not (0 <= a < p.n_participants and 0 <= b < len(cap)):
            raise AllocationError("Ett låst par pekar på en deltagare eller plats som inte finns.")
        if slot_of[a] != UNPLACED:
            raise AllocationError("En deltagare kan bara ha ett låst par.")
        if (a, b) in p.excluded:
            raise AllocationError("Ett par kan inte vara både låst och uteslutet.")
        if cap[b] <= 0:
            raise AllocationError("De låsta paren tar fler platser än praktikplatsen har.")
        slot_of[a] = b
        cap[b] -= 1
    keep = (slot_of[p.pi] == UNPLACED) & (cap[p.si] > 0) if len(p.pi) else np.zeros(0, bool)
    if p.excluded and len(p.pi):
        keep &= np.array([(int(a), int(b)) not in p.excluded for a, b in
                          zip(p.pi, p.si, strict=True)], dtype=bool)
    return _Free(p.pi[keep], p.si[keep], p.score[keep], cap, slot_of)


def _value(p: Problem, slot_of: np.ndarray) -> float:
    look = _score_lookup(p)
    return float(sum(look.get((int(i), int(j)), 0.0) for i, j in enumerate(slot_of) if j >= 0))


def _dedupe(f: _Free) -> _Free:
    """One entry per (participant, slot): the best score if a pair is listed twice."""
    if not len(f.pi):
        return f
    order = np.lexsort((-f.score, f.si, f.pi))
    pi, si, sc = f.pi[order], f.si[order], f.score[order]
    first = np.r_[True, (pi[1:] != pi[:-1]) | (si[1:] != si[:-1])]
    return _Free(pi[first], si[first], sc[first], f.capacity, f.slot_of)


# --- exact ---------------------------------------------------------------------------------

def solve_exact(p: Problem, fairness_floor: float | None = None) -> Plan:
    """The plan with the highest total score; with `fairness_floor` f in (0, 1], also every
    target group's mean score per participant at least f times every other group's."""
    started = time.perf_counter()
    f = _dedupe(_free(p))
    if fairness_floor is not None and not 0 < fairness_floor <= 1:
        raise AllocationError("Golvet för rättvisa ska vara större än 0 och högst 1.")
    slot_of = _matching(f)
    # The unconstrained optimum is also the constrained one when it keeps the floor already;
    # only otherwise is the (much slower) MILP needed.
    if fairness_floor is not None and not _keeps_floor(p, slot_of, fairness_floor):
        slot_of = _milp(p, f, fairness_floor)
    return Plan("exact", slot_of, _value(p, slot_of), time.perf_counter() - started)


def _matching(f: _Free) -> np.ndarray:
    slot_of = f.slot_of.copy()
    use = f.score > 0  # a pair worth nothing never improves the total
    pi, si, sc = f.pi[use], f.si[use], f.score[use]
    if not len(pi):
        return slot_of
    rows, row_of = np.unique(pi, return_inverse=True)
    # Each slot needs no more columns than it has candidates.
    degree = np.bincount(si, minlength=len(f.capacity))
    width = np.minimum(f.capacity, degree)
    offset = np.r_[0, np.cumsum(width)]
    reps = width[si]
    e_row = np.repeat(row_of, reps)
    e_col = np.repeat(offset[si], reps) + _ranges(reps)
    # Weights must be non-zero: 2 - score on a real pair, 2 on the row's own "not placed"
    # column. Every row is matched once, so the total is 2n - (sum of chosen scores).
    e_w = np.repeat(2.0 - sc, reps)
    n_rows, n_cols = len(rows), int(offset[-1])
    graph = sp.csr_matrix(
        (np.r_[e_w, np.full(n_rows, 2.0)],
         (np.r_[e_row, np.arange(n_rows)], np.r_[e_col, n_cols + np.arange(n_rows)])),
        shape=(n_rows, n_cols + n_rows))
    r, c = min_weight_full_bipartite_matching(graph)
    real = c < n_cols
    slot_at = np.repeat(np.arange(len(width)), width)
    slot_of[rows[r[real]]] = slot_at[c[real]]
    return slot_of


def _keeps_floor(p: Problem, slot_of: np.ndarray, floor: float) -> bool:
    means = group_means(p, slot_of, _score_lookup(p))
    return not means or min(means.values()) >= floor * max(means.values()) - 1e-9


def _ranges(counts: np.ndarray) -> np.ndarray:
    """[0..c0-1, 0..c1-1, ...]."""
    if not len(counts) or counts.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    return np.arange(ends[-1]) - np.repeat(ends - counts, counts)


def _milp(p: Problem, f: _Free, floor: float) -> np.ndarray:
    k = len(f.pi)
    look = _score_lookup(p)
    pinned_value = np.zeros(p.n_participants)
    for a, b in p.pinned:
        pinned_value[a] = look.get((a, b), 0.0)
    cols = np.arange(k)
    A_p = sp.csr_matrix((np.ones(k), (f.pi, cols)), shape=(p.n_participants, k))
    A_s = sp.csr_matrix((np.ones(k), (f.si, cols)), shape=(len(f.capacity), k))
    cons = [LinearConstraint(A_p, -np.inf, 1.0),
            LinearConstraint(A_s, -np.inf, f.capacity.astype(float))]
    groups = [(g, m) for g, m in p.groups.items() if len(m)]
    if len(groups) >= 2:
        # mean_g >= floor * mean_h for every ordered pair (g, h): no max() needed.
        rows, lo = [], []
        member = {g: np.isin(f.pi, m) for g, m in groups}
        for g, mg in groups:
            for h, mh in groups:
                if g == h:
                    continue
                rows.append(f.score * (member[g] / len(mg) - floor * member[h] / len(mh)))
                lo.append(floor * pinned_value[mh].sum() / len(mh)
                          - pinned_value[mg].sum() / len(mg))
        cons.append(LinearConstraint(sp.csr_matrix(np.vstack(rows)), np.array(lo) - 1e-9,
                                     np.inf))
    if k == 0:
        if len(groups) >= 2 and any((c.lb > 0).any() for c in cons[2:]):
            raise AllocationError(_FLOOR_UNREACHABLE)
        return f.slot_of.copy()
    res = milp(-f.score, constraints=cons, integrality=np.ones(k), bounds=Bounds(0, 1),
               options={"mip_rel_gap": 1e-7, "time_limit": MILP_SECONDS})
    # Status 1: the time limit ended the search; HiGHS's best plan so far keeps every
    # constraint (it is feasible), only its optimality is not proven.
    if res.status == 1 and res.x is None:
        raise AllocationError(f"Planen med golv för rättvisa hann inte beräknas på "
                              f"{MILP_SECONDS:.0f} sekunder; försök med ett lägre golv eller "
                              "utan golv.")
    if res.status not in (0, 1) or res.x is None:
        raise AllocationError(_FLOOR_UNREACHABLE)
    chosen = res.x > 0.5
    slot_of = f.slot_of.copy()
    slot_of[f.pi[chosen]] = f.si[chosen]
    return slot_of


_FLOOR_UNREACHABLE = ("Golvet för rättvisa går inte att nå med de låsta paren; sänk golvet "
                      "eller lås upp par.")


# --- optimal transport ---------------------------------------------------------------------

def solve_ot(p: Problem, reg: float = 0.02, max_iter: int = 3000) -> Plan:
    """Entropic optimal transport of one unit of mass per participant onto the slots' free
    places (plus a "not placed" column and an "empty places" row, so mass may stay home),
    cost = -score; the transport plan is rounded to a feasible plan by taking its pairs in
    order of mass. `prices[j]` = how much the plan discounts slot j against the least
    contested slot (from the dual potentials; 0 for the least contested)."""
    if reg <= 0:
        raise AllocationError("Regulariseringen ska vara större än 0.")
    started = time.perf_counter()
    f = _dedupe(_free(p))
    m = len(f.capacity)
    live = f.capacity > 0
    slot_of = f.slot_of.copy()
    prices = np.zeros(m)
    if len(f.pi):
        rows, row_of = np.unique(f.pi, return_inverse=True)
        cols, col_of = np.unique(f.si, return_inverse=True)
        a = np.r_[np.ones(len(rows)), float(f.capacity[cols].sum())]
        b = np.r_[f.capacity[cols].astype(float), float(len(rows))]
        if (len(rows) + 1) * (len(cols) + 1) <= DENSE_CELLS:
            mass, g = _sinkhorn_dense(row_of, col_of, f.score, a, b, reg, max_iter)
        else:
            mass, g = _sinkhorn_sparse(row_of, col_of, f.score, a, b, reg, max_iter)
        # Prices: the slots' potentials below the best one (adding a constant to every
        # potential changes no plan, so only the differences mean anything).
        prices[cols] = g.max() - g
        order = np.lexsort((-f.score, -mass))
        cap = f.capacity.copy()
        for k in order:
            i, j = int(f.pi[k]), int(f.si[k])
            if slot_of[i] == UNPLACED and cap[j] > 0 and f.score[k] > 0:
                slot_of[i] = j
                cap[j] -= 1
    prices[~live] = 0.0
    return Plan("ot", slot_of, _value(p, slot_of), time.perf_counter() - started, prices)


def _sinkhorn_dense(row_of, col_of, score, a, b, reg, max_iter):
    """POT's stabilised Sinkhorn (log-domain absorption) on the dense cost matrix
    (infeasible cells cost `big`). POT's "sinkhorn_log" gives the same potentials but was
    about 100 times slower here (34 s against 0.5 s on 157 x 325)."""
    import ot

    n, m = len(a) - 1, len(b) - 1
    big = 50.0  # exp(-big / reg) is 0 in double precision for every reg we allow
    M = np.full((n + 1, m + 1), big)
    M[row_of, col_of] = -score
    M[:n, m] = 0.0   # participant not placed
    M[n, :] = 0.0    # place left empty
    _, log = ot.sinkhorn(a, b, M, reg, method="sinkhorn_stabilized", numItermax=max_iter,
                         stopThr=1e-7, log=True, warn=False)
    f_pot = reg * log["logu"]
    g_pot = reg * log["logv"]
    mass = np.exp((f_pot[row_of] + g_pot[col_of] + score) / reg)
    return mass, g_pot[:m]


def _sinkhorn_sparse(row_of, col_of, score, a, b, reg, max_iter, tol=1e-7):
    """The same iterations on the pairs only (for problems too large for a dense matrix)."""
    n, m = len(a) - 1, len(b) - 1
    f = np.zeros(n + 1)
    g = np.zeros(m + 1)
    by_row = np.argsort(row_of, kind="stable")
    by_col = np.argsort(col_of, kind="stable")
    r_sorted, c_sorted = row_of[by_row], col_of[by_col]
    r_start = np.searchsorted(r_sorted, np.arange(n))
    c_start = np.searchsorted(c_sorted, np.arange(m))
    log_a, log_b = np.log(a), np.log(b)

    def lse(values: np.ndarray, seg: np.ndarray, extra: np.ndarray) -> np.ndarray:
        # log(sum(exp(values in segment)) + exp(extra)) per segment, stably.
        mx = np.maximum(np.maximum.reduceat(values, seg), extra)
        s = np.add.reduceat(np.exp(values - np.repeat(mx, np.diff(np.r_[seg, len(values)]))),
                            seg)
        return mx + np.log(s + np.exp(extra - mx))

    for _ in range(max_iter):
        # Rows: participants see their pairs and the "not placed" column (cost 0).
        v = ((g[:m][col_of] + score) / reg)[by_row]
        f[:n] = reg * (log_a[:n] - lse(v, r_start, g[m] / reg * np.ones(n)))
        f[n] = reg * (log_a[n] - np.logaddexp.reduce(g / reg))  # "empty places" row: all 0
        w = ((f[:n][row_of] + score) / reg)[by_col]
        g_new = np.empty(m + 1)
        g_new[:m] = reg * (log_b[:m] - lse(w, c_start, f[n] / reg * np.ones(m)))
        g_new[m] = reg * (log_b[m] - np.logaddexp.reduce(f / reg))
        done = np.max(np.abs(g_new - g)) < tol * max(1.0, reg)
        g = g_new
        if done:
            break
    mass = np.exp((f[row_of] + g[col_of] + score) / reg)
    return mass, g[:m]


def spread_scores(score: np.ndarray, slot_index: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """A participant's scores less the slots' congestion prices: ordering by this follows the
    transport plan, so lists spread over the free places."""
    return np.asarray(score, dtype=float) - prices[np.asarray(slot_index, dtype=np.int64)]


# --- baselines -----------------------------------------------------------------------------

def independent_top1(p: Problem, order: np.ndarray | None = None,
                     prices: np.ndarray | None = None) -> Plan:
    """Each participant goes for their own best slot, independently; in `order` (default:
    by index) the first to come takes the place, later ones find it full and get nothing.
    With `prices` each one's best is by score less the slot's price (spread suggestions)."""
    started = time.perf_counter()
    f = _dedupe(_free(p))
    slot_of = f.slot_of.copy()
    best = np.full(p.n_participants, UNPLACED, dtype=np.int64)
    best_score = np.full(p.n_participants, -np.inf)
    rank_by = f.score if prices is None else spread_scores(f.score, f.si, prices)
    for i, j, s in zip(f.pi, f.si, rank_by, strict=True):
        if s > best_score[i] or (s == best_score[i] and j < best[i]):
            best[i], best_score[i] = j, s
    cap = f.capacity.copy()
    for i in (np.arange(p.n_participants) if order is None else order):
        j = best[i]
        if slot_of[i] == UNPLACED and j != UNPLACED and cap[j] > 0:
            slot_of[i] = j
            cap[j] -= 1
    return Plan("top1" if prices is None else "spread_top1", slot_of, _value(p, slot_of),
                time.perf_counter() - started)


def greedy(p: Problem) -> Plan:
    """All pairs by score, best first; a pair is taken while both sides are free."""
    started = time.perf_counter()
    f = _dedupe(_free(p))
    slot_of = f.slot_of.copy()
    cap = f.capacity.copy()
    for k in np.lexsort((f.si, f.pi, -f.score)):
        i, j = int(f.pi[k]), int(f.si[k])
        if slot_of[i] == UNPLACED and cap[j] > 0 and f.score[k] > 0:
            slot_of[i] = j
            cap[j] -= 1
    return Plan("greedy", slot_of, _value(p, slot_of), time.perf_counter() - started)


METHODS = {"exact": solve_exact, "ot": solve_ot, "top1": independent_top1, "greedy": greedy}


def solve(p: Problem, method: str = "exact", *, fairness_floor: float | None = None,
          reg: float = 0.02) -> Plan:
    """One plan by name: exact, ot, top1 or greedy (the floor needs exact)."""
    if method not in METHODS:
        raise AllocationError(f"Okänd metod {method!r}; välj exact, ot, top1 eller greedy.")
    if fairness_floor is not None and method != "exact":
        raise AllocationError("Golvet för rättvisa kräver metoden exact.")
    if method == "exact":
        return solve_exact(p, fairness_floor)
    if method == "ot":
        return solve_ot(p, reg)
    return METHODS[method](p)


# --- checks and summaries ------------------------------------------------------------------

def check_plan(p: Problem, slot_of: np.ndarray) -> list[str]:
    """What is wrong with a plan (empty when it keeps every rule)."""
    problems = []
    feasible = {(int(a), int(b)) for a, b in zip(p.pi, p.si, strict=True)}
    pins = dict(p.pinned)
    used = np.bincount(slot_of[slot_of >= 0], minlength=len(p.capacity))
    if (used > p.capacity).any():
        problems.append("capacity")
    for i, j in enumerate(slot_of):
        if j < 0:
            if i in pins:
                problems.append(f"pin {i} dropped")
            continue
        pair = (i, int(j))
        if pins.get(i, j) != j:
            problems.append(f"pin {i} moved")
        if i not in pins and (pair not in feasible or pair in p.excluded):
            problems.append(f"pair {pair} not allowed")
    return problems


def group_means(p: Problem, slot_of: np.ndarray, value: Mapping[tuple[int, int], float]
                ) -> dict[str, float]:
    """Each group's mean value per participant (0 for the unplaced)."""
    per = np.array([value.get((i, int(j)), 0.0) if j >= 0 else 0.0
                    for i, j in enumerate(slot_of)])
    return {g: float(per[m].mean()) for g, m in p.groups.items() if len(m)}
