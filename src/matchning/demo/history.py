"""Months of placement history, simulated week by week.

Consultants choose the way real ones do: imperfectly, from what they can see (wished
occupation, distance, obvious constraints) with randomness, never from the hidden employer
quality, so the history is biased like real history. A place on a slot is reserved from the
proposal until the placement ends, so a slot never holds more accepted + started placements
than its capacity, and a participant has one placement under way at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matchning.demo.consultants import ConsultantView
from matchning.demo.employers import Employers
from matchning.demo.occupations import OccupationTable
from matchning.demo.outcome import (
    HiddenWeights,
    fit_table,
    p_work_or_studies,
    pair_features,
    sigmoid,
    truth_for_pairs,
)
from matchning.demo.people import YOUTH, Participants
from matchning.demo.places import Geography
from matchning.demo.slots import MAX_CAPACITY, Slots

NEVER = 10**7
REACH_KM = 60.0          # consultants look for slots in kommuner this close
CANDIDATES = 24          # slots a consultant glances at per search
MIN_SCORE = -2.5         # below this the consultant waits for a better slot

# Final path of a placement as simulated (the status at "today" is cut from it later).
WITHDRAWN, DECLINED, COMPLETED, ABORTED = range(4)
OUTCOMES = ("arbete", "studier", "annan insats", "ingen")
EXITS = ("arbete", "studier", "annan insats", "övrigt")
ABORT_REASONS = ("fick arbete", "hälsa", "matchade inte", "arbetsgivaren avbröt",
                 "deltagaren avbröt", "övrigt")
OTHER_ABORT_P = np.array([0.22, 0.3, 0.15, 0.23, 0.1])   # all but "fick arbete"


@dataclass
class History:
    participant: np.ndarray
    slot: np.ndarray
    path: np.ndarray          # WITHDRAWN, DECLINED, COMPLETED or ABORTED
    proposed: np.ndarray      # day numbers
    decided: np.ndarray
    started: np.ndarray       # NEVER when the placement never started
    ended: np.ndarray
    outcome: np.ndarray       # index into OUTCOMES, -1 when not completed
    outcome_on: np.ndarray
    abort_reason: np.ndarray  # index into ABORT_REASONS, -1 unless aborted
    p: np.ndarray             # true P(completed) for the pair
    exit_day: np.ndarray      # per participant, NEVER when still in the unit
    exit_outcome: np.ndarray  # per participant, index into EXITS, -1
    feedback: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # pi, si, day, reason key

    def __len__(self) -> int:
        return len(self.participant)


FEEDBACK_KEYS = ("distance", "heavy", "licence", "language", "occupation", "other")


def simulate(rng: np.random.Generator, geo: Geography, occ: OccupationTable, p: Participants,
             s: Slots, e: Employers, w: HiddenWeights, horizon: int, seed: int) -> History:
    """Placements from day 0 to day `horizon` (today)."""
    n = len(p)
    fit = fit_table(occ.code_int)
    view = ConsultantView(geo, fit, p, s)
    stay = rng.integers(90, 451, n)
    dropout = rng.random(n) < 0.2
    exit_plan = p.enrolled + np.where(dropout, (stay * rng.uniform(0.1, 1.0, n)).astype(int),
                                      stay)
    earliest = np.where(p.earliest >= 0, p.earliest - 10, 0)
    next_search = np.maximum(p.enrolled + rng.integers(5, 31, n), earliest)
    exit_day = np.full(n, NEVER)
    exit_outcome = np.full(n, -1)
    done = np.zeros(n, dtype=bool)
    last_end = np.zeros(n, dtype=np.int64)   # day the latest placement stopped occupying

    free_at = np.where(np.arange(MAX_CAPACITY)[None, :] < s.capacity[:, None], 0, NEVER)
    reach = geo.dist <= REACH_KM
    out: dict[str, list[np.ndarray]] = {k: [] for k in (
        "pi", "si", "path", "proposed", "decided", "started", "ended", "outcome",
        "outcome_on", "abort", "p")}
    fb: list[list[np.ndarray]] = [[], [], [], []]

    for week in range(0, horizon + 1, 7):
        week_end = min(week + 7, horizon + 1)
        due = np.flatnonzero(~done & (next_search < week_end))
        if len(due) == 0:
            continue
        # A search planned in a week already simulated happens now (keeps capacity exact).
        next_search[due] = np.maximum(next_search[due], week)
        leaving = exit_plan[due] <= next_search[due]
        gone = due[leaving]
        exit_day[gone] = np.maximum(exit_plan[gone], last_end[gone] + 1)
        exit_outcome[gone] = np.where(dropout[gone] | (rng.random(len(gone)) < 0.45), 3, 2)
        done[gone] = True
        searchers = due[~leaving]
        if len(searchers) == 0:
            continue
        free_at.sort(axis=1)
        free_now = (free_at <= week).sum(1)
        avail = (free_now > 0) & (s.start - 21 <= week) & (s.end >= week + 60)
        picks = _choose(rng, view, geo, fit, p, s, searchers, reach, avail, fb, next_search)
        pi, si = picks
        waiting = np.setdiff1d(searchers, pi, assume_unique=True)
        next_search[waiting] += rng.integers(7, 15, len(waiting))
        if len(pi) == 0:
            continue
        d = next_search[pi]
        ok, place = _book(pi, si, d, free_now)
        next_search[pi[~ok]] += 7
        pi, si, d, place = pi[ok], si[ok], d[ok], place[ok]
        res = _resolve(rng, w, geo, occ, p, s, e, pi, si, d, seed)
        free_at[si, place] = res["occ_end"] + 1
        last_end[pi] = res["occ_end"]
        _advance(rng, res, pi, next_search, exit_day, exit_outcome, done)
        res.update(pi=pi, si=si, proposed=d)
        for key, parts in out.items():
            parts.append(res[key])

    cat = {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)) for k, v in out.items()}
    # Placements are numbered by participant, then time: the writer then builds each
    # participant's snapshot once.
    order = np.lexsort((cat["proposed"], cat["pi"]))
    cat = {k: v[order] for k, v in cat.items()}
    fbs = tuple(np.concatenate(x) if x else np.zeros(0, dtype=np.int64) for x in fb)
    return History(cat["pi"], cat["si"], cat["path"], cat["proposed"], cat["decided"],
                   cat["started"], cat["ended"], cat["outcome"], cat["outcome_on"],
                   cat["abort"], cat["p"], exit_day, exit_outcome, fbs)  # type: ignore[arg-type]


def _choose(rng, view: ConsultantView, geo, fit, p, s, searchers, reach, avail, fb,
            next_search):
    """For each searcher, the slot a consultant proposes (or none this week)."""
    chosen_p, chosen_s = [], []
    for k in np.unique(p.kommun[searchers]):
        group = searchers[p.kommun[searchers] == k]
        pool = np.flatnonzero(avail & reach[k][s.kommun])
        if len(pool) == 0:
            continue
        m = len(group)
        cand = pool[rng.integers(0, len(pool), (m, CANDIDATES))]
        v = view.score(np.repeat(group, CANDIDATES), cand.ravel())
        noisy = (v + rng.gumbel(0.0, 0.8, len(v))).reshape(m, CANDIDATES)
        best = noisy.argmax(1)
        go = noisy[np.arange(m), best] >= MIN_SCORE
        chosen_p.append(group[go])
        chosen_s.append(cand[np.arange(m), best][go])
        # Some searches leave a "passar inte" on the worst slot the consultant saw.
        worst = noisy.argmin(1)
        rows = np.flatnonzero(go & (rng.random(m) < 0.1) & (worst != best))
        if len(rows):
            fpi, fsi = group[rows], cand[rows, worst[rows]]
            fb[0].append(fpi)
            fb[1].append(fsi)
            fb[2].append(next_search[fpi])
            fb[3].append(_feedback_key(p, s, fpi, fsi, pair_features(geo, fit, p, s, fpi, fsi)))
    if not chosen_p:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(chosen_p), np.concatenate(chosen_s)


def _feedback_key(p, s, pi, si, f) -> np.ndarray:
    """The most obvious reason a consultant would give (index into FEEDBACK_KEYS)."""
    key = np.full(len(pi), 5)
    key = np.where(~f.wished3, 4, key)
    key = np.where(f.language_gap > 0, 3, key)
    key = np.where((s.licence[si] & ~p.licence[pi]) != 0, 2, key)
    key = np.where((f.constraints > 0) & (s.demand[si] == 2), 1, key)
    return np.where(f.over_commute > 0, 0, key)


def _book(pi, si, day, free_now):
    """Which picks get a place: per slot, the earliest picks up to its free places."""
    order = np.lexsort((pi, day, si))
    ss = si[order]
    first = np.r_[0, np.flatnonzero(ss[1:] != ss[:-1]) + 1]
    rank_sorted = np.arange(len(ss)) - np.repeat(first, np.diff(np.r_[first, len(ss)]))
    rank = np.empty_like(rank_sorted)
    rank[order] = rank_sorted
    # Places are sorted by free-from day, so the free ones come first.
    return rank < free_now[si], rank


def _resolve(rng, w, geo, occ, p, s, e, pi, si, d, seed) -> dict[str, np.ndarray]:
    """Draw each proposal's fate from the true probabilities, with consistent dates."""
    n = len(pi)
    t = truth_for_pairs(w, geo, fit_table(occ.code_int), p, s, e, pi, si, seed)
    u = rng.random((n, 6))
    withdrawn = u[:, 0] < w.withdraw
    declined = ~withdrawn & (u[:, 1] < t.p_decline)
    accepted = ~withdrawn & ~declined
    completed = accepted & (u[:, 2] < t.p_finish)
    decided = d + np.where(accepted, rng.integers(1, 11, n), rng.integers(2, 15, n))
    started = np.maximum(decided + rng.integers(3, 22, n), s.start[si])
    planned = np.minimum(started + rng.integers(28, 113, n), s.end[si])
    frac = rng.uniform(0.1, 0.9, n)
    ended = np.where(completed, planned,
                     started + np.maximum(3, (frac * (planned - started)).astype(np.int64)))
    started = np.where(accepted, started, NEVER)
    ended = np.where(accepted, ended, NEVER)
    path = np.select([withdrawn, declined, completed], [WITHDRAWN, DECLINED, COMPLETED],
                     ABORTED)

    good = u[:, 3] < p_work_or_studies(w, s, e, si, t.occupation)
    studies_p = np.where(p.group[pi] == YOUTH, 0.4, 0.15)
    outcome = np.where(good, np.where(u[:, 4] < studies_p, 1, 0),
                       np.where(u[:, 4] < 0.4, 2, 3))
    outcome = np.where(completed, outcome, -1)
    outcome_on = np.where(completed, ended + rng.integers(0, 46, n), NEVER)
    got_job_p = np.clip(0.03 + 0.07 * s.may_lead[si] + 0.03 * e.quality[s.employer[si]]
                        + 0.03 * sigmoid(t.logit), 0.01, 0.25)
    other = rng.choice(len(OTHER_ABORT_P), n, p=OTHER_ABORT_P) + 1
    abort = np.where(path == ABORTED, np.where(u[:, 5] < got_job_p, 0, other), -1)
    occ_end = np.where(accepted, ended, decided)
    return {"path": path, "decided": decided, "started": started, "ended": ended,
            "outcome": outcome, "outcome_on": outcome_on, "abort": abort, "p": t.p_complete,
            "occ_end": occ_end}


def _advance(rng, res, pi, next_search, exit_day, exit_outcome, done) -> None:
    """Move each participant on after their placement: a new search, or leave the unit."""
    n = len(pi)
    path, outcome = res["path"], res["outcome"]
    pause = rng.integers(3, 15, n)
    after = np.where(path <= DECLINED, res["decided"] + pause,
                     np.where(path == COMPLETED, res["ended"] + rng.integers(7, 31, n),
                              res["ended"] + rng.integers(7, 36, n)))
    next_search[pi] = after
    to_work = (path == COMPLETED) & (outcome <= 1)
    got_job = (path == ABORTED) & (res["abort"] == 0)
    leaving = to_work | got_job
    who = pi[leaving]
    exit_day[who] = np.where(to_work[leaving], res["outcome_on"][leaving],
                             res["ended"][leaving])
    exit_outcome[who] = np.where(to_work[leaving], outcome[leaving], 0)
    done[who] = True
