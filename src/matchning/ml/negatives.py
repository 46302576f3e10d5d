"""Sampled negatives: slots that were open and feasible when a placement was proposed, but
that the consultant did not choose.

History only shows the pairs consultants proposed, nearly all in the wished occupation and
close by, so a model trained on them alone cannot learn what a poor pair looks like. The
base estimator also learns from these sampled pairs; its probabilities are then calibrated on
real placements only, so the score stays "probability of completion".

The sampling is vectorised over all rows at once (a million placements take seconds, not
hours): for each row, slots are drawn uniformly from the kommuner within its reach, the rules
are checked on the drawn pairs as they stood on the row's day (`rules.rules_for_pairs`), and the
first `per_row` distinct feasible ones are kept. Draws are independent and uniform, so the
kept slots are a uniform sample of the row's feasible slots, as if drawn from the whole
feasible set. A row still short after the rounds of draws has its reach listed in full when
that is small (it then gets exactly min(per_row, feasible)); a row that reaches thousands of
slots of which almost none is feasible keeps what the draws found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from matchning.ml.catalog import SlotMatrix
from matchning.ml.dates import day_numbers
from matchning.ml.geo import haversine_km
from matchning.ml.model import training_subset
from matchning.ml.profiles import ProfileMatrix
from matchning.ml.rule_defs import RuleSettings
from matchning.ml.rules import rules_for_pairs
from matchning.reference import ReferenceData

DRAWS = (16, 64, 256)     # draws per short row in each round before the full enumeration
LIST_ALL_MAX = 2_000      # a row still short is enumerated in full if it reaches this few
CHUNK_PAIRS = 2_000_000   # pairs per block (bounds the memory of the rule checks)
OCCUPYING = ("accepted", "started", "completed", "aborted")
_DAYS = 1 << 21           # above every day number (FAR_FUTURE is 10**6)
_NONE = np.zeros(0, dtype=np.int64)


def sample_negatives(rows: pd.DataFrame, placements: pd.DataFrame,
                     feedback: pd.DataFrame | None, slots: Mapping[int, Mapping[str, Any]],
                     ref: ReferenceData, rules: RuleSettings, *, per_row: int = 4,
                     rejection_days: int = 90, recent_abort_days: int = 180,
                     seed: int = 0) -> pd.DataFrame:
    """Up to `per_row` unchosen feasible slots for each placement row the estimator learns
    from (`model.training_subset`), labelled 0 (source "sampled"): fewer only when fewer were
    feasible."""
    columns = list(rows.columns)
    # Only the rows the estimator will learn from (model.training_subset) need negatives.
    real = training_subset(rows)
    real = real[real["source"] == "placement"]
    ids = sorted(slots)
    if real.empty or not ids:
        return pd.DataFrame(columns=columns)
    S = SlotMatrix.from_records([{**slots[i], "status": "open"} for i in ids], ref).indexed()
    P = ProfileMatrix.from_records(list(real["snapshot"]), ref)
    past = _Past(placements, feedback, S, rejection_days, recent_abort_days)
    person = past.person(real["participant_id"].to_numpy(dtype=np.int64))
    days = real["day"].to_numpy(dtype=np.int64)
    chosen = np.searchsorted(S.ids, real["slot_id"].to_numpy(dtype=np.int64))
    reach = _Reach(S, P)
    rng = np.random.default_rng(seed)

    def feasible(pi: np.ndarray, si: np.ndarray) -> np.ndarray:
        """The feasible, unchosen pairs' mask (the rules as on each row's day)."""
        d = days[pi]
        out = rules_for_pairs(P, S, pi, si, d, rules, remaining=past.remaining(si, d),
                              **past.history(person[pi], si, d))
        return out.feasible & (si != chosen[pi])

    found_pi, found_si = _NONE, _NONE
    short = np.arange(len(real))
    for draws in DRAWS:
        # A row's draws are one stream of independent uniform draws over its reach: its
        # first `per_row` distinct feasible slots are a uniform sample of its feasible ones.
        new_pi, new_si = [], []
        for block in reach.blocks(short, draws):
            pi, si = reach.draw(block, draws, rng)
            ok = feasible(pi, si)
            new_pi.append(pi[ok])
            new_si.append(si[ok])
        was = np.isin(found_pi, short)
        pi = np.concatenate([found_pi[was], *new_pi])
        si = np.concatenate([found_si[was], *new_si])
        pi, si = _first(pi, si, per_row)
        found_pi = np.concatenate([found_pi[~was], pi])
        found_si = np.concatenate([found_si[~was], si])
        short = short[np.bincount(found_pi, minlength=len(real))[short] < per_row]
        if len(short) == 0:
            break
    # Still short after 336 draws: under 1 in ~80 of the row's reachable slots is feasible.
    # A row that reaches few slots has them all listed (it gets exactly what its pool
    # allows); one that reaches thousands keeps what the draws found (fewer negatives for a
    # rare, tightly constrained row: a small bias that saves minutes at national scale).
    short = short[reach.total(short) <= LIST_ALL_MAX]
    if len(short):
        new_pi, new_si = [], []
        for block in reach.blocks(short, None):
            pi, si = reach.every(block)
            ok = feasible(pi, si)
            pi, si = pi[ok], si[ok]
            order = np.lexsort((rng.random(len(pi)), pi))
            new_pi.append(pi[order])
            new_si.append(si[order])
        was = np.isin(found_pi, short)
        pi, si = _first(np.concatenate([_NONE, *new_pi]), np.concatenate([_NONE, *new_si]),
                        per_row)
        found_pi = np.concatenate([found_pi[~was], pi])
        found_si = np.concatenate([found_si[~was], si])

    order = np.argsort(found_pi, kind="stable")  # row order, then draw order
    pi, si = found_pi[order], found_si[order]
    return pd.DataFrame({
        "participant_id": real["participant_id"].to_numpy()[pi],
        "slot_id": S.ids[si], "employer_id": S.employer[si], "placement_id": -1,
        "day": days[pi], "known_day": days[pi], "label": 0, "grade": 0, "job": 0,
        "snapshot": real["snapshot"].to_numpy()[pi], "source": "sampled",
    }, columns=columns)


def _first(pi: np.ndarray, si: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the first `k` distinct slots in the pairs' order (a row's pairs may be
    spread out; their order within the row is kept)."""
    if len(pi) == 0:
        return _NONE, _NONE
    key = pi * (int(si.max()) + 1) + si
    _, first = np.unique(key, return_index=True)
    first.sort()
    pi, si = pi[first], si[first]
    order = np.argsort(pi, kind="stable")
    pi, si = pi[order], si[order]
    starts = np.r_[0, np.flatnonzero(np.diff(pi)) + 1]
    rank = np.arange(len(pi)) - np.repeat(starts, np.diff(np.r_[starts, len(pi)]))
    keep = rank < k
    return pi[keep], si[keep]


class _Reach:
    """The slots grouped by kommun (catalog.ReachIndex) and, per row, the groups its point
    and commute may reach: to draw from them or to list them."""

    def __init__(self, S: SlotMatrix, P: ProfileMatrix):
        index = S._reach
        assert index is not None
        self.P = P
        self.lat, self.lon, self.radius = index.lat, index.lon, index.radius
        self.size = np.array([len(g) for g in index.groups], dtype=np.int64)
        self.start = np.r_[0, np.cumsum(self.size)[:-1]].astype(np.int64)
        self.members = np.concatenate(index.groups) if index.groups else _NONE

    def sizes(self, rows: np.ndarray) -> np.ndarray:
        """(rows x groups) the number of slots of each group within reach, else 0."""
        P = self.P
        d = haversine_km(P.lat[rows, None], P.lon[rows, None], self.lat[None, :],
                         self.lon[None, :])
        return np.where(d - self.radius[None, :] <= P.commute[rows, None], self.size, 0)

    def total(self, rows: np.ndarray) -> np.ndarray:
        """How many slots each row reaches (its groups' sizes summed)."""
        return np.concatenate([self.sizes(rows[i:i + 5000]).sum(axis=1)
                               for i in range(0, len(rows), 5000)] or [_NONE])

    def blocks(self, rows: np.ndarray, draws: int | None):
        """`rows` in blocks of at most CHUNK_PAIRS pairs (draws each, or every reachable)."""
        if draws is not None:
            step = max(1, CHUNK_PAIRS // draws)
            yield from (rows[i:i + step] for i in range(0, len(rows), step))
            return
        cut = np.cumsum(self.total(rows)) // CHUNK_PAIRS
        for c in np.unique(cut):
            yield rows[cut == c]

    def draw(self, rows: np.ndarray, draws: int, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
        """`draws` uniform draws (with replacement) from each row's reachable slots, in draw
        order; a row that reaches nothing gets none."""
        cum = np.cumsum(self.sizes(rows), axis=1)
        total = cum[:, -1]
        has = np.flatnonzero(total > 0)
        if len(has) == 0:
            return _NONE, _NONE
        cum, total = cum[has], total[has]
        u = (rng.random((len(has), draws)) * total[:, None]).astype(np.int64)
        # The group of each draw: one searchsorted over the rows' cumulative sizes laid end
        # to end (each row shifted past the previous one's total).
        span = int(total.max()) + 1
        shift = (np.arange(len(has)) * span)[:, None]
        flat = (cum + shift).ravel()
        pos = np.searchsorted(flat, (u + shift).ravel(), side="right")
        g = pos % cum.shape[1]
        before = np.where(g > 0, flat[np.maximum(pos - 1, 0)] - np.repeat(shift.ravel(),
                                                                           draws), 0)
        within = u.ravel() - before
        return np.repeat(rows[has], draws), self.members[self.start[g] + within]

    def every(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (row, slot) pair within reach."""
        r, g = np.nonzero(self.sizes(rows))
        n = self.size[g]
        offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        return np.repeat(rows[r], n), self.members[np.repeat(self.start[g], n) + offset]


class _Past:
    """What the history held on a given day, looked up for many (row, slot, day) at once:
    the places taken and the three history rules, as `timeline.Timeline` answers one row.
    Each table is sorted on key * _DAYS + day, so one searchsorted answers a lookup."""

    def __init__(self, placements: pd.DataFrame, feedback: pd.DataFrame | None,
                 S: SlotMatrix, rejection_days: int, recent_abort_days: int):
        self.rejection_days, self.abort_days = rejection_days, recent_abort_days
        self.capacity = np.array([r.get("capacity") or 0 for r in S.records], dtype=np.int64)
        self.n_slots = len(S.ids)
        self.employers = np.unique(S.employer)
        self.slot_employer = np.searchsorted(self.employers, S.employer)
        pl = placements
        self.people = np.unique(pl["participant_id"].to_numpy(dtype=np.int64))
        who = self.person(pl["participant_id"].to_numpy(dtype=np.int64))
        slot = np.searchsorted(S.ids, pl["slot_id"].to_numpy(dtype=np.int64))
        status = pl["status"].to_numpy()
        proposed = day_numbers(pl["proposed_on"].tolist(), 0)
        decided = day_numbers(pl["decided_on"].tolist(), 10**6)
        ended = day_numbers(pl["ended_on"].tolist(), 10**6)
        # A place is held from the decision until the end (Timeline.remaining_at); an
        # interval that ends before it starts holds nothing.
        occ = np.isin(status, OCCUPYING) & (decided < ended)
        self.held_from = np.sort(slot[occ] * _DAYS + decided[occ])
        self.held_to = np.sort(slot[occ] * _DAYS + ended[occ])
        first = np.arange(self.n_slots, dtype=np.int64) * _DAYS  # where each slot begins
        self.from_start = np.searchsorted(self.held_from, first)
        self.to_start = np.searchsorted(self.held_to, first)
        # Earlier placements on the slot, withdrawn ones excepted (by proposal day).
        on = status != "withdrawn"
        self.blocked = np.sort((who[on] * self.n_slots + slot[on]) * _DAYS + proposed[on])
        # Aborts at the employer, by their end day.
        ab = status == "aborted"
        emp = self.slot_employer[slot[ab]]
        self.aborts = np.sort((who[ab] * len(self.employers) + emp) * _DAYS + ended[ab])
        self.marks = _NONE
        if feedback is not None and len(feedback):
            fp = self.person(feedback["participant_id"].to_numpy(dtype=np.int64))
            fs = np.searchsorted(S.ids, feedback["slot_id"].to_numpy(dtype=np.int64))
            fday = day_numbers(feedback["created_on"].tolist(), 0)
            known = fp >= 0
            self.marks = np.sort((fp[known] * self.n_slots + fs[known]) * _DAYS + fday[known])

    def person(self, pids: np.ndarray) -> np.ndarray:
        """Dense index of each participant id; -1 for one without placements."""
        if len(self.people) == 0:
            return np.full(len(pids), -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.people, pids), 0, len(self.people) - 1)
        return np.where(self.people[pos] == pids, pos, -1)

    def remaining(self, si: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Free places of slot si[k] on day[k]: places held from <= day < to."""
        q = si * _DAYS + day
        held = (np.searchsorted(self.held_from, q, side="right") - self.from_start[si]) \
            - (np.searchsorted(self.held_to, q, side="right") - self.to_start[si])
        return self.capacity[si] - held

    def history(self, person: np.ndarray, si: np.ndarray, day: np.ndarray
                ) -> dict[str, np.ndarray]:
        """The three history rules per pair as of its day (Timeline.history_at)."""
        pair = person * self.n_slots + si
        at_employer = person * len(self.employers) + self.slot_employer[si]
        return {"blocked": _before(self.blocked, pair, day, None),
                "rejected": _before(self.marks, pair, day, self.rejection_days),
                "aborted": _before(self.aborts, at_employer, day, self.abort_days)}


def _before(table: np.ndarray, key: np.ndarray, day: np.ndarray, window: int | None
            ) -> np.ndarray:
    """Whether `table` (sorted key * _DAYS + day) holds a day before `day` for the key, and,
    with a window, one no earlier than `day - window`: the latest one before decides."""
    if len(table) == 0:
        return np.zeros(len(key), dtype=bool)
    pos = np.searchsorted(table, key * _DAYS + day, side="left") - 1
    hit = table[np.maximum(pos, 0)]
    same = (pos >= 0) & (hit // _DAYS == key) & (key >= 0)
    return same if window is None else same & (hit % _DAYS >= day - window)
