"""Sampled negatives: slots that were open and feasible when a placement was proposed, but
that the consultant did not choose.

History only shows the pairs consultants proposed, nearly all in the wished occupation and
close by, so a model trained on them alone cannot learn what a poor pair looks like. The
base estimator also learns from these sampled pairs; its probabilities are then calibrated on
real placements only, so the score stays "probability of completion".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from matchning.ml.catalog import SlotMatrix
from matchning.ml.dates import to_date
from matchning.ml.rule_defs import RuleDay, RuleSettings
from matchning.ml.rules import feasible_slots
from matchning.ml.timeline import Timeline
from matchning.reference import ReferenceData


def sample_negatives(rows: pd.DataFrame, placements: pd.DataFrame,
                     feedback: pd.DataFrame | None, slots: Mapping[int, Mapping[str, Any]],
                     ref: ReferenceData, rules: RuleSettings, *, per_row: int = 4,
                     rejection_days: int = 90, recent_abort_days: int = 180,
                     seed: int = 0) -> pd.DataFrame:
    """`per_row` unchosen feasible slots for each placement row, labelled 0
    (source "sampled")."""
    ids = sorted(slots)
    base = SlotMatrix.from_records([{**slots[i], "status": "open"} for i in ids],
                                   ref).indexed()
    timeline = Timeline(placements, feedback, slots, ids)
    rng = np.random.default_rng(seed)
    out = []
    real = rows[rows["source"] == "placement"]
    for row in real.itertuples():
        day = int(row.day)
        S = dataclasses.replace(base, remaining=timeline.remaining_at(day))
        hist = timeline.history_at(int(row.participant_id), day, rejection_days,
                                   recent_abort_days)
        ok = feasible_slots(row.snapshot, S, hist, RuleDay(to_date(day), rules), ref).idx
        pool = ok[base.ids[ok] != int(row.slot_id)]
        if len(pool) == 0:
            continue
        for i in rng.choice(pool, size=min(per_row, len(pool)), replace=False):
            out.append({"participant_id": row.participant_id, "slot_id": int(base.ids[i]),
                        "employer_id": int(base.employer[i]), "placement_id": -1, "day": day,
                        "known_day": day, "label": 0, "grade": 0, "job": 0,
                        "snapshot": row.snapshot, "source": "sampled"})
    return pd.DataFrame(out, columns=list(rows.columns))
