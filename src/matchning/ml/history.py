"""Labels from the placement history (DESIGN.md, "Model").

The score is the probability that a placement is completed; an abort because the person got
a job counts as a success. Ranking is judged with grades: completed and then work or studies
(or the abort for a job) 2, completed 1, aborted / declined / "passar inte" 0. Withdrawn
proposals and placements still under way carry no label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matchning.ml.dates import day_numbers

GOT_JOB = "fick arbete"
GOOD_OUTCOMES = ("arbete", "studier")
PLACEMENT_COLUMNS = ("id", "participant_id", "slot_id", "employer_id", "status", "proposed_on",
                     "decided_on", "ended_on", "abort_reason", "outcome", "snapshot")
FEEDBACK_COLUMNS = ("participant_id", "slot_id", "employer_id", "created_on", "snapshot")


def labelled_rows(placements: pd.DataFrame, feedback: pd.DataFrame | None = None
                  ) -> pd.DataFrame:
    """One row per labelled pair: participant_id, slot_id, employer_id, placement_id, day
    (proposal), known_day (when the label became known), label, grade, job, snapshot, source.
    Sorted by day."""
    pl = placements
    status = pl["status"].to_numpy()
    got_job = (status == "aborted") & (pl["abort_reason"].to_numpy() == GOT_JOB)
    completed = status == "completed"
    good = completed & pl["outcome"].isin(GOOD_OUTCOMES).to_numpy()
    keep = np.isin(status, ("completed", "aborted", "declined"))
    known = np.where(status == "declined", day_numbers(pl["decided_on"].tolist(), 10**6),
                     day_numbers(pl["ended_on"].tolist(), 10**6))
    rows = pd.DataFrame({
        "participant_id": pl["participant_id"].to_numpy(),
        "slot_id": pl["slot_id"].to_numpy(),
        "employer_id": pl["employer_id"].to_numpy(),
        "placement_id": pl["id"].to_numpy(),
        "day": day_numbers(pl["proposed_on"].tolist(), 0),
        "known_day": known,
        "label": (completed | got_job).astype(int),
        "grade": np.where(good | got_job, 2, np.where(completed, 1, 0)),
        "job": (good | got_job).astype(int),
        "snapshot": pl["snapshot"].to_numpy(),
        "source": "placement",
    })[keep]
    if feedback is not None and len(feedback):
        day = day_numbers(feedback["created_on"].tolist(), 0)
        fb = pd.DataFrame({
            "participant_id": feedback["participant_id"].to_numpy(),
            "slot_id": feedback["slot_id"].to_numpy(),
            "employer_id": feedback["employer_id"].to_numpy(),
            "placement_id": -1, "day": day, "known_day": day, "label": 0, "grade": 0,
            "job": 0, "snapshot": feedback["snapshot"].to_numpy(), "source": "feedback",
        })
        rows = pd.concat([rows, fb], ignore_index=True)
    return rows.sort_values(["day", "placement_id"], kind="stable").reset_index(drop=True)


def empty_placements() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in PLACEMENT_COLUMNS})
