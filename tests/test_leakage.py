"""No leakage into training: employer statistics "as of" each proposal, labels from outcomes,
and features from each placement's own profile snapshot."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from matchning.ml.dates import day_number
from matchning.ml.employer_stats import PRIOR_WEIGHT, EmployerStats, as_of
from matchning.ml.features import COLUMN, Substitutes, Vectorisers
from matchning.ml.history import PLACEMENT_COLUMNS, labelled_rows
from matchning.ml.model import training_matrix
from matchning.reference import get_reference

REF = get_reference()


# --- (a) employer statistics as of the row's day -----------------------------------------

ROWS = pd.DataFrame({"employer_id": [1, 1, 1, 2, 3, 1],
                     "day": [100, 110, 120, 110, 50, 106]})
OUTCOMES = pd.DataFrame({  # deliberately not in known_day order
    "employer_id": [1, 1, 2, 1, 1],
    "known_day": [110, 100, 50, 200, 105],
    "label": [1, 1, 0, 1, 0],
    "job": [0, 1, 0, 1, 0],
})
PRIOR_RATE, PRIOR_JOB = 0.4, 0.3


def test_prior_weight_is_five():
    assert PRIOR_WEIGHT == 5


def test_as_of_counts_only_outcomes_known_strictly_before():
    rate, n, job = as_of(ROWS, OUTCOMES, PRIOR_RATE, PRIOR_JOB)
    # emp 1, day 100: the outcome known on day 100 itself does not count yet → prior.
    # emp 1, day 110: days 100 (1, job) and 105 (0) → n 2, c 1, j 1.
    # emp 1, day 120: plus day 110 (1, no job)   → n 3, c 2, j 1. Day 200 never counts.
    # emp 2, day 110: day 50 (0)                   → n 1, c 0, j 0.
    # emp 3: no outcomes → prior.  emp 1, day 106: days 100 and 105 → as day 110.
    assert n.tolist() == [0, 2, 3, 1, 0, 2]
    assert rate == pytest.approx([
        (0 + 5 * 0.4) / (0 + 5),   # 0.4
        (1 + 5 * 0.4) / (2 + 5),   # 3/7
        (2 + 5 * 0.4) / (3 + 5),   # 0.5
        (0 + 5 * 0.4) / (1 + 5),   # 1/3
        0.4,
        3 / 7,
    ])
    assert job == pytest.approx([
        0.3,
        (1 + 5 * 0.3) / (1 + 5),
        (1 + 5 * 0.3) / (2 + 5),
        (0 + 5 * 0.3) / (0 + 5),
        0.3,
        (1 + 5 * 0.3) / (1 + 5),
    ])


def test_as_of_day_after_everything_equals_the_full_table():
    rows = pd.DataFrame({"employer_id": [1, 2], "day": [10_000, 10_000]})
    rate, n, job = as_of(rows, OUTCOMES, PRIOR_RATE, PRIOR_JOB)
    full = EmployerStats(PRIOR_RATE, PRIOR_JOB, {1: (4, 3, 2), 2: (1, 0, 0)}).arrays(
        np.array([1, 2]))
    assert n.tolist() == [4, 1]
    np.testing.assert_allclose(rate, full[0])
    np.testing.assert_allclose(job, full[2])


def test_as_of_keeps_row_order_with_a_non_default_index():
    rows = ROWS.set_axis([50, 40, 30, 20, 10, 0])
    _, n, _ = as_of(rows, OUTCOMES, PRIOR_RATE, PRIOR_JOB)
    assert n.tolist() == [0, 2, 3, 1, 0, 2]


def test_as_of_without_outcomes_is_the_prior():
    rate, n, job = as_of(ROWS, OUTCOMES.iloc[:0], PRIOR_RATE, PRIOR_JOB)
    assert n.tolist() == [0] * 6
    assert rate.tolist() == pytest.approx([0.4] * 6)
    assert job.tolist() == pytest.approx([0.3] * 6)


def test_from_outcomes_table():
    stats = EmployerStats.from_outcomes(OUTCOMES)
    assert stats.table == {1: (4, 3, 2), 2: (1, 0, 0)}
    assert stats.prior_rate == pytest.approx(3 / 5)
    # The job rate is per completed placement: 2 jobs after 3 completions.
    assert stats.prior_job == pytest.approx(2 / 3)


def test_average_employer_has_the_prior_job_rate():
    # 100 placements: half completed, a quarter went on to work – exactly the overall rates.
    outcomes = pd.DataFrame({"employer_id": [1] * 100, "label": [1] * 50 + [0] * 50,
                             "job": [1] * 25 + [0] * 75})
    stats = EmployerStats.from_outcomes(outcomes)
    rate, _, job = stats.arrays(np.array([1, 99]))  # 99: never seen
    assert rate[0] == pytest.approx(rate[1])
    assert job[0] == pytest.approx(job[1], abs=0.05)


# --- (b) labels from the placement history ------------------------------------------------

D0 = date(2024, 1, 1)


def d(n: int | None) -> date | None:
    return None if n is None else D0 + timedelta(days=n)


def snapshot(wished: list[str], text: str = "Vill arbeta på lager med truck.") -> dict:
    return {"kommunkod": "0180", "lat": None, "lon": None, "max_commute_km": 30,
            "driving_licences": ["B"], "own_car": False, "swedish_level": "C",
            "other_languages": [], "education_level": 2, "wished_occupations": wished,
            "past_work": [], "skills": ["Truckkort"], "profile_text": text,
            "max_hours_per_week": 40, "earliest_start": None, "needs_supervisor": False,
            "adaptations": []}


# id, participant, slot, employer, status, proposed, decided, ended, abort, outcome, wished
HISTORY = [
    (1, 7, 100, 1, "completed", 5, 7, 60, None, "arbete", ["9621"]),
    (2, 8, 101, 2, "completed", 0, 2, 50, None, "övrigt", ["4321"]),
    (3, 9, 100, 1, "aborted", 10, 11, 20, "fick arbete", None, ["4321"]),
    (4, 10, 101, 2, "aborted", 12, 13, 30, "sjukdom", None, ["4321"]),
    (5, 11, 100, 1, "declined", 15, 16, None, None, None, ["4321"]),
    (6, 12, 101, 2, "withdrawn", 16, 17, None, None, None, ["4321"]),
    (7, 13, 100, 1, "proposed", 17, None, None, None, None, ["4321"]),
    (8, 14, 101, 2, "accepted", 18, 19, None, None, None, ["4321"]),
    (9, 15, 100, 1, "started", 19, 20, None, None, None, ["4321"]),
    (10, 7, 100, 1, "completed", 70, 71, 120, None, None, ["4321"]),   # same person, later
    (11, 16, 101, 2, "completed", 8, 9, 40, None, "studier", ["4321"]),
    (12, 17, 100, 1, "completed", 25, 26, 90, None, "annan insats", ["4321"]),
]


def placements() -> pd.DataFrame:
    recs = []
    for pid, part, slot, emp, status, prop, dec, end, abort, outcome, wished in HISTORY:
        recs.append(dict(zip(PLACEMENT_COLUMNS, (
            pid, part, slot, emp, status, d(prop), d(dec), d(end), abort, outcome,
            snapshot(wished)), strict=True)))
    return pd.DataFrame(recs, columns=list(PLACEMENT_COLUMNS))


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return labelled_rows(placements())


def test_labels_and_grades(rows):
    got = {int(r.placement_id): (int(r.grade), int(r.label), int(r.job))
           for r in rows.itertuples()}
    assert got == {
        1: (2, 1, 1),    # completed, then work
        11: (2, 1, 1),   # completed, then studies
        2: (1, 1, 0),    # completed, other outcome
        12: (1, 1, 0),   # completed, other intervention
        10: (1, 1, 0),   # completed, no outcome recorded
        3: (2, 1, 1),    # aborted because the person got a job: a success
        4: (0, 0, 0),    # aborted for another reason
        5: (0, 0, 0),    # declined
    }  # withdrawn (6) and still under way (7 proposed, 8 accepted, 9 started) are left out


def test_rows_in_time_order_with_known_days(rows):
    assert rows["placement_id"].tolist() == [2, 1, 11, 3, 4, 5, 12, 10]
    assert rows["day"].tolist() == [day_number(d(n), 0) for n in (0, 5, 8, 10, 12, 15, 25, 70)]
    known = dict(zip(rows["placement_id"], rows["known_day"], strict=True))
    assert known[5] == day_number(d(16), 0)        # declined: known when decided
    assert known[3] == day_number(d(20), 0)        # aborted: known when ended
    assert known[1] == day_number(d(60), 0)        # completed: known when ended
    assert (rows["known_day"] > rows["day"]).all()  # an outcome is known after the proposal
    assert set(rows["source"]) == {"placement"}


def test_feedback_rows_are_negatives():
    fb = pd.DataFrame({"participant_id": [20], "slot_id": [101], "employer_id": [2],
                       "created_on": [d(3)], "snapshot": [snapshot(["4321"])]})
    rows = labelled_rows(placements(), fb)
    row = rows[rows["source"] == "feedback"].iloc[0]
    assert (row.label, row.grade, row.job, row.placement_id) == (0, 0, 0, -1)
    assert row.day == row.known_day == day_number(d(3), 0)
    assert rows["day"].is_monotonic_increasing


# --- (b) training features from each row's own snapshot -----------------------------------

SLOT_RECORDS = {
    100: {"id": 100, "external_id": None, "employer_id": 1, "employer_name": "Lager AB",
          "sector": "privat", "size_band": "50-249", "title": "Lagerarbetare",
          "description": "Plock, pack och truckkörning på lager.", "occupation_code": "4321",
          "required_skills": ["Truckkort"], "nice_skills": [], "kommunkod": "0180",
          "lat": None, "lon": None, "capacity": 2, "remaining": 2, "hours_per_week": 40,
          "start_date": "2024-01-01", "end_date": None, "driving_licences": [],
          "swedish_level": "B", "physical_demand": "medel", "accessible": True,
          "supervisor": True, "may_lead_to_job": True, "status": "open"},
    101: {"id": 101, "external_id": None, "employer_id": 2, "employer_name": "Kök AB",
          "sector": "ideell", "size_band": "1-9", "title": "Köksbiträde",
          "description": "Disk och enklare matlagning.", "occupation_code": "9412",
          "required_skills": [], "nice_skills": [], "kommunkod": "0184", "lat": None,
          "lon": None, "capacity": 1, "remaining": 1, "hours_per_week": 20,
          "start_date": "2024-01-01", "end_date": None, "driving_licences": [],
          "swedish_level": None, "physical_demand": "lätt", "accessible": False,
          "supervisor": False, "may_lead_to_job": False, "status": "open"},
}


@pytest.fixture(scope="module")
def training(rows):
    vec = Vectorisers().fit(list(SLOT_RECORDS.values()), list(rows["snapshot"]))
    stats = EmployerStats.from_outcomes(rows[rows["source"] == "placement"])
    data = training_matrix(rows, SLOT_RECORDS, vec, stats, REF, 5.0, Substitutes(REF))
    return data, stats


def _row(data, placement_id: int) -> np.ndarray:
    pos = data.rows.index[data.rows["placement_id"] == placement_id]
    assert len(pos) == 1
    return data.X[pos[0]]


def test_training_labels_follow_rows(training, rows):
    data, _ = training
    assert data.X.shape == (len(rows), len(COLUMN))
    assert data.y.tolist() == rows["label"].tolist()


def test_each_row_uses_its_own_snapshot(training):
    """Participant 7 was placed twice at slot 100 (4321): first wishing 9621, later 4321.
    The first row must not see the later wish."""
    data, _ = training
    first, later = _row(data, 1), _row(data, 10)
    assert first[COLUMN["wish_level"]] == 0
    assert later[COLUMN["wish_level"]] == 4
    # Same slot, same text and skills: the pair features agree apart from the wish and the
    # employer's history as of each proposal.
    differ = {name for name, i in COLUMN.items() if first[i] != later[i]}
    assert "wish_level" in differ
    assert differ <= {"wish_level", "substitute", "employer_rate", "employer_placements",
                      "employer_job_rate"}


def test_training_employer_statistics_are_as_of(training):
    data, stats = training
    # Employer 1's first proposal (placement 1, day 5) was made before any outcome was known.
    first = _row(data, 1)
    assert first[COLUMN["employer_placements"]] == 0
    assert first[COLUMN["employer_rate"]] == pytest.approx(stats.prior_rate)
    # The full table knows employer 1's outcomes: using it here would leak the row's label.
    full_rate, full_n, _ = stats.arrays(np.array([1]))
    assert full_n[0] == 5
    assert full_rate[0] != pytest.approx(stats.prior_rate)
    # Placement 10 (day 70): outcomes of 5 (declined, day 16), 3 (got a job, day 20) and
    # 1 (completed, day 60) are known; 12 (day 90) and 10's own (day 120) are not.
    later = _row(data, 10)
    assert later[COLUMN["employer_placements"]] == pytest.approx(np.log1p(3))
    assert later[COLUMN["employer_rate"]] == pytest.approx(
        (2 + 5 * stats.prior_rate) / (3 + 5))
