"""What `training.load_history` gives a "passar inte" mark as the profile the model saw."""

from __future__ import annotations

from sqlalchemy import insert

from matchning.domain.principal import SYSTEM
from matchning.domain.snapshot import profile_snapshot
from matchning.services import training
from matchning.services.context import Context
from matchning.storage.tables import FeedbackRow, ParticipantRow


def test_a_mark_without_any_placement_takes_todays_profile(world, session_factory,
                                                           settings) -> None:
    unit = world.unit()
    employer = world.employer()
    slot = world.slot(employer)
    marked = world.participant(unit, profile_text="Vill arbeta på lager.")
    world.participant(unit)  # never marked: its profile is not needed
    with session_factory() as session:
        ctx = Context(session=session, principal=SYSTEM, settings=settings)
        session.execute(insert(FeedbackRow).values(
            participant_id=marked, slot_id=slot, reason="passar inte", created_at=ctx.now()))
        data = training.load_history(ctx)
        person = session.get(ParticipantRow, marked)
        assert list(data.feedback["snapshot"]) == [profile_snapshot(person)]
        assert set(data.profiles) == {marked}


def test_recalibrating_equals_fitting_again_with_the_other_method() -> None:
    import numpy as np
    from sklearn.base import clone

    from matchning.ml.ranker import TimeCalibratedClassifier, candidate_estimators

    rng = np.random.default_rng(0)
    from matchning.ml.features import FEATURES

    X = rng.standard_normal((3000, len(FEATURES)))
    y = (X[:, 0] + rng.standard_normal(3000) > 0).astype(int)
    mask = rng.random(3000) < 0.7
    for est in candidate_estimators(0).values():
        iso = TimeCalibratedClassifier(clone(est), method="isotonic").fit(
            X, y, calibration_mask=mask)
        again = TimeCalibratedClassifier(clone(est), method="sigmoid").fit(
            X, y, calibration_mask=mask)
        other = iso.recalibrated("sigmoid", X, y, calibration_mask=mask)
        assert np.array_equal(other.predict_proba(X), again.predict_proba(X))
        assert np.array_equal(iso.predict_proba(X[:50]), iso.predict_proba(X[:50]))
        assert iso.method == "isotonic" and other.method == "sigmoid"


def test_placement_columns_hold_what_placement_history_holds(engine, session_factory) -> None:
    from datetime import date

    from matchning.demo import DemoConfig, seed_demo_world
    from matchning.storage.repositories import history

    seed_demo_world(engine, DemoConfig(participants=60, employers=20, slots=40, months=6,
                                       seed=3, today=date(2026, 11, 1)), truth_path=None)
    with session_factory() as session:
        rows = history.placement_history(session)
        columns = history.placement_columns(session)
    assert len(rows) > 20
    assert columns == {k: [r[k] for r in rows] for k in rows[0]}
    # Equal snapshots are one shared object (decoded once).
    by_text = {}
    for snap in columns["snapshot"]:
        key = repr(sorted(snap.items()))
        assert by_text.setdefault(key, snap) is snap


def test_employer_statistics_as_of_each_day_match_a_plain_count() -> None:
    import numpy as np
    import pandas as pd

    from matchning.ml.employer_stats import as_of, smooth

    rng = np.random.default_rng(4)
    outcomes = pd.DataFrame({"employer_id": rng.integers(1, 30, 500),
                             "known_day": rng.choice([*range(19_000, 19_100), 10**6], 500),
                             "label": rng.integers(0, 2, 500)})
    outcomes["job"] = outcomes["label"] * rng.integers(0, 2, 500)
    rows = pd.DataFrame({"employer_id": rng.integers(1, 35, 300),
                         "day": rng.integers(18_990, 19_110, 300)})
    got = as_of(rows, outcomes, 0.4, 0.3)
    n, c, j = [], [], []
    for e, day in zip(rows["employer_id"], rows["day"], strict=True):
        seen = outcomes[(outcomes["employer_id"] == e) & (outcomes["known_day"] < day)]
        n.append(len(seen))
        c.append(seen["label"].sum())
        j.append(seen["job"].sum())
    want = smooth(np.array(n, float), np.array(c, float), np.array(j, float), 0.4, 0.3)
    for a, b in zip(got, want, strict=True):
        assert np.allclose(a, b)
