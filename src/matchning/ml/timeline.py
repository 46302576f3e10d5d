"""The history as it stood on a given day: free places per slot, and what a participant's
earlier placements and "passar inte" marks forbid. Used to rebuild the rules' view of the
past (evaluation queries, sampled negatives)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from matchning.ml.dates import day_numbers
from matchning.ml.rule_defs import PairHistory

OCCUPYING = ("accepted", "started", "completed", "aborted")


class Timeline:
    def __init__(self, placements: pd.DataFrame, feedback: pd.DataFrame | None,
                 slots: Mapping[int, Mapping[str, Any]], slot_ids: list[int]):
        pl = placements
        self.pos = {s: k for k, s in enumerate(slot_ids)}
        self.capacity = np.array([slots[i]["capacity"] for i in slot_ids], dtype=np.int64)
        proposed = day_numbers(pl["proposed_on"].tolist(), 0)
        decided = day_numbers(pl["decided_on"].tolist(), 10**6)
        ended = day_numbers(pl["ended_on"].tolist(), 10**6)
        occ = pl["status"].isin(OCCUPYING).to_numpy()
        self.occ_slot = np.array([self.pos[int(s)] for s in pl["slot_id"][occ]], dtype=np.int64)
        self.occ_from, self.occ_to = decided[occ], ended[occ]
        self.person = {}
        frame = pd.DataFrame({"pid": pl["participant_id"].to_numpy(),
                              "slot": pl["slot_id"].to_numpy(),
                              "employer": pl["employer_id"].to_numpy(),
                              "status": pl["status"].to_numpy(), "proposed": proposed,
                              "ended": ended})
        self.person = {int(k): g for k, g in frame.groupby("pid")}
        self.feedback = {}
        if feedback is not None and len(feedback):
            fb = pd.DataFrame({"pid": feedback["participant_id"].to_numpy(),
                               "slot": feedback["slot_id"].to_numpy(),
                               "day": day_numbers(feedback["created_on"].tolist(), 0)})
            self.feedback = {int(k): g for k, g in fb.groupby("pid")}

    def remaining_at(self, day: int) -> np.ndarray:
        held = (self.occ_from <= day) & (self.occ_to > day)
        return self.capacity - np.bincount(self.occ_slot[held], minlength=len(self.capacity))

    def history_at(self, pid: int, day: int, rejection_days: int, recent_abort_days: int
                   ) -> PairHistory:
        blocked: set[int] = set()
        aborted: set[int] = set()
        rejected: set[int] = set()
        g = self.person.get(pid)
        if g is not None:
            before = g[g["proposed"] < day]
            blocked = set(before.loc[before["status"] != "withdrawn", "slot"].astype(int))
            ab = before[(before["status"] == "aborted") & (before["ended"] < day)
                        & (before["ended"] >= day - recent_abort_days)]
            aborted = set(ab["employer"].astype(int))
        f = self.feedback.get(pid)
        if f is not None:
            rejected = set(f.loc[(f["day"] < day) & (f["day"] >= day - rejection_days),
                                 "slot"].astype(int))
        return PairHistory(frozenset(blocked), frozenset(rejected), frozenset(aborted))
