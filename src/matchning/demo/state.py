"""The world as it stands on "today": each placement's status cut from its simulated path,
the events that already happened, and participant and slot statuses."""

from __future__ import annotations

import numpy as np

from matchning.demo import texts as tx
from matchning.demo.history import (
    ABORT_REASONS,
    ABORTED,
    COMPLETED,
    DECLINED,
    OUTCOMES,
    WITHDRAWN,
    History,
)
from matchning.demo.slots import Slots


def placement_state(rng: np.random.Generator, h: History, today: int) -> dict[str, np.ndarray]:
    """Status on `today` and which dates are known (the rest are still in the future)."""
    n = len(h)
    decided = h.decided <= today
    started = h.started <= today
    ended = h.ended <= today
    final = np.array(["withdrawn", "declined", "completed", "aborted"], dtype=object)[h.path]
    status = np.where(~decided, "proposed",
                      np.where(h.path <= DECLINED, final,
                               np.where(~started, "accepted",
                                        np.where(~ended, "started", final))))
    declined = decided & (h.path == DECLINED)
    return {
        "status": status.astype(object), "decided": decided, "started": started,
        "ended": ended, "outcome": ended & (h.path == COMPLETED) & (h.outcome_on <= today),
        "decline_reason": np.where(declined, rng.integers(0, len(tx.DECLINE_REASONS), n), -1),
        "note": np.where(rng.random(n) < 0.15, rng.integers(0, len(tx.NOTES), n), -1),
    }


def participant_status(rng: np.random.Generator, h: History, st: dict[str, np.ndarray],
                       n: int, today: int) -> list[str]:
    status = np.full(n, "väntande", dtype=object)
    busy = np.zeros(n, dtype=bool)
    busy[h.participant[np.isin(st["status"], ("proposed", "accepted"))]] = True
    status[(~busy) & (rng.random(n) < 0.1)] = "pausad"
    status[h.participant[st["status"] == "started"]] = "i praktik"
    status[h.exit_day <= today] = "avslutad"
    return status.tolist()


def slot_status(rng: np.random.Generator, s: Slots, h: History, st: dict[str, np.ndarray],
                today: int) -> list[str]:
    status = np.where(s.end < today, "closed", "open").astype(object)
    active = np.zeros(len(s), dtype=bool)
    active[h.slot[np.isin(st["status"], ("proposed", "accepted", "started"))]] = True
    status[(status == "open") & ~active & (rng.random(len(s)) < 0.08)] = "paused"
    return status.tolist()


def events(rng: np.random.Generator, h: History, st: dict[str, np.ndarray],
           consultant: np.ndarray, employer_user: np.ndarray) -> dict[str, np.ndarray]:
    """PlacementEventRow values for every step taken by `today`, ordered by placement.

    `consultant[k]` and `employer_user[k]` are user ids for placement k (-1: no employer
    user, then the consultant acts on the employer's behalf)."""
    n = len(h)
    k = np.arange(n)
    emp_acts = (employer_user >= 0) & (rng.random(n) < 0.6)
    decider = np.where(emp_acts, employer_user, consultant)
    withdraw_text = np.array(tx.WITHDRAW_REASONS, dtype=object)[
        rng.integers(0, len(tx.WITHDRAW_REASONS), n)]
    decline_text = np.array(tx.DECLINE_REASONS, dtype=object)[
        np.maximum(st["decline_reason"], 0)]
    decision = np.array(["withdraw", "decline", "accept", "accept"], dtype=object)[h.path]
    decision_to = np.array(["withdrawn", "declined", "accepted", "accepted"],
                           dtype=object)[h.path]
    decision_reason = np.where(h.path == WITHDRAWN, withdraw_text,
                               np.where(h.path == DECLINED, decline_text, None))
    end_action = np.where(h.path == ABORTED, "abort", "complete").astype(object)
    end_to = np.where(h.path == ABORTED, "aborted", "completed").astype(object)
    abort_text = np.array(ABORT_REASONS, dtype=object)[np.maximum(h.abort_reason, 0)]
    end_reason = np.where(h.path == ABORTED, abort_text, None)
    none = np.full(n, None, dtype=object)
    outcome_text = np.array(OUTCOMES, dtype=object)[np.maximum(h.outcome, 0)]

    steps = [  # (mask, step order, day, action, from, to, user, reason)
        (np.ones(n, bool), 0, h.proposed, "propose", none, "proposed", consultant, none),
        (st["decided"], 1, h.decided, decision, "proposed", decision_to, decider,
         decision_reason),
        (st["started"], 2, h.started, "start", "accepted", "started", consultant, none),
        (st["ended"], 3, h.ended, end_action, "started", end_to,
         np.where(emp_acts & (rng.random(n) < 0.5), employer_user, consultant), end_reason),
        # As the service records it: an "outcome" event that keeps the status.
        (st["outcome"], 4, h.outcome_on, "outcome", "completed", "completed", consultant,
         outcome_text),
    ]
    parts: dict[str, list[np.ndarray]] = {key: [] for key in (
        "placement", "order", "day", "action", "from", "to", "user", "reason")}
    for mask, order, day, action, frm, to, user, reason in steps:
        m = np.flatnonzero(mask)
        values = {"placement": k[m], "order": np.full(len(m), order), "day": day[m],
                  "action": _pick(action, m), "from": _pick(frm, m), "to": _pick(to, m),
                  "user": user[m], "reason": _pick(reason, m)}
        for key, v in values.items():
            parts[key].append(v)
    ev = {key: np.concatenate(v) for key, v in parts.items()}
    order = np.lexsort((ev["order"], ev["placement"]))
    ev = {key: v[order] for key, v in ev.items()}
    ev["minute"] = 8 * 60 + ev["order"] * 20 + rng.integers(0, 6 * 60, len(order))
    return ev


def slot_versions(ev: dict[str, np.ndarray], h: History, n_slots: int) -> np.ndarray:
    """1 + every change of the slot's free places, as the service bumps `version`."""
    moves = np.isin(ev["action"], ("accept", "start", "complete", "abort"))
    return 1 + np.bincount(h.slot[ev["placement"][moves]], minlength=n_slots)


def _pick(value, m: np.ndarray) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value[m]
    return np.full(len(m), value, dtype=object)
