"""The vectorised negative sampler against the plain one it replaced: per training row, the
feasible pool of `rules.feasible_slots` over the `Timeline`'s view of that day.

Every sampled slot must be in its row's pool (never the chosen slot), and each row gets
min(per_row, pool size) distinct slots. Uniformity: over many seeds, each slot of a pool is
drawn about equally often.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date

import numpy as np
import pandas as pd
import pytest

from matchning.demo import DemoConfig, seed_demo_world
from matchning.domain.principal import SYSTEM
from matchning.ml.catalog import SlotMatrix
from matchning.ml.dates import to_date
from matchning.ml.negatives import sample_negatives
from matchning.ml.rule_defs import RuleDay, RuleSettings
from matchning.ml.rules import feasible_slots
from matchning.ml.timeline import Timeline
from matchning.services import training
from matchning.services.context import Context
from matchning.storage.db import make_session_factory

RULES = RuleSettings()
WORLD = DemoConfig(participants=200, employers=60, slots=200, months=12, seed=11,
                   today=date(2026, 11, 1))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory):
    from matchning.config import Settings
    from matchning.storage import migrate
    from matchning.storage.db import make_engine

    tmp = tmp_path_factory.mktemp("negatives")
    engine = make_engine(f"sqlite:///{tmp / 'n.sqlite3'}")
    migrate.upgrade(engine)
    seed_demo_world(engine, WORLD, truth_path=None)
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with make_session_factory(engine)() as session:
        data = training.load_history(Context(session=session, principal=SYSTEM,
                                             settings=settings))
    engine.dispose()
    return data, training.training_rows(data)


def _pools(data, rows: pd.DataFrame, ref) -> dict[int, set[int]]:
    """Row position -> its feasible unchosen slot ids, the way the old sampler found them."""
    ids = sorted(data.slots)
    base = SlotMatrix.from_records([{**data.slots[i], "status": "open"} for i in ids],
                                   ref).indexed()
    timeline = Timeline(data.placements, data.feedback, data.slots, ids)
    out = {}
    real = rows[rows["source"] == "placement"]
    for k, row in enumerate(real.itertuples()):
        day = int(row.day)
        S = dataclasses.replace(base, remaining=timeline.remaining_at(day))
        hist = timeline.history_at(int(row.participant_id), day, 90, 180)
        ok = feasible_slots(row.snapshot, S, hist, RuleDay(to_date(day), RULES), ref).idx
        out[k] = {int(s) for s in base.ids[ok]} - {int(row.slot_id)}
    return out


def _by_row(rows: pd.DataFrame, sampled: pd.DataFrame) -> dict[int, list[int]]:
    real = rows[rows["source"] == "placement"].reset_index(drop=True)
    key = {(int(p), int(d), id(s)): k for k, (p, d, s) in enumerate(
        zip(real["participant_id"], real["day"], real["snapshot"], strict=True))}
    out: dict[int, list[int]] = {}
    for p, d, s, slot in zip(sampled["participant_id"], sampled["day"], sampled["snapshot"],
                             sampled["slot_id"], strict=True):
        out.setdefault(key[(int(p), int(d), id(s))], []).append(int(slot))
    return out


def test_every_sample_is_feasible_and_rows_get_what_their_pool_allows(history) -> None:
    from matchning.reference import get_reference

    data, rows = history
    ref = get_reference()
    pools = _pools(data, rows, ref)
    sampled = sample_negatives(rows, data.placements, data.feedback, data.slots, ref, RULES,
                               seed=3)
    assert list(sampled.columns) == list(rows.columns)
    assert set(sampled["source"]) == {"sampled"} and (sampled["label"] == 0).all()
    got = _by_row(rows, sampled)
    assert sum(len(p) >= 4 for p in pools.values()) > 20  # the world gives the test teeth
    for k, pool in pools.items():
        mine = got.get(k, [])
        assert len(mine) == len(set(mine)) == min(4, len(pool)), (k, mine, pool)
        assert set(mine) <= pool, (k, set(mine) - pool)


def test_samples_are_uniform_over_the_pool(history) -> None:
    from matchning.reference import get_reference

    data, rows = history
    ref = get_reference()
    pools = _pools(data, rows, ref)
    k = max((k for k, p in pools.items() if len(p) >= 12), key=lambda k: len(pools[k]))
    one = rows[rows["source"] == "placement"].iloc[[k]]  # that row alone: the same pool
    counts: Counter[int] = Counter()
    runs = 300
    for seed in range(runs):
        sampled = sample_negatives(one, data.placements, data.feedback, data.slots, ref,
                                   RULES, seed=seed)
        counts.update(sampled["slot_id"].astype(int))
    pool = pools[k]
    expected = runs * 4 / len(pool)
    assert set(counts) == pool
    # Binomial spread: every slot within 5 standard deviations of its expected count.
    sd = np.sqrt(runs * (4 / len(pool)) * (1 - 4 / len(pool)))
    assert all(abs(c - expected) < 5 * sd for c in counts.values()), (expected, counts)


def test_only_the_rows_the_estimator_learns_from_get_negatives(history, monkeypatch) -> None:
    from matchning.ml import model
    from matchning.reference import get_reference

    data, rows = history
    monkeypatch.setattr(model, "MAX_TRAINING_ROWS", 150)
    subset = model.training_subset(rows)
    assert len(subset) == 150 and subset.index.is_monotonic_increasing
    assert subset.index.equals(model.training_subset(rows).index)  # the same every time
    sampled = sample_negatives(rows, data.placements, data.feedback, data.slots,
                               get_reference(), RULES, seed=3)
    def keys(frame):
        return set(zip(frame["participant_id"], frame["day"],
                       [id(s) for s in frame["snapshot"]], strict=True))
    assert len(sampled) and keys(sampled) <= keys(subset)
    fitted = model.fit_model(rows, data.slots, get_reference(), sampled=sampled)
    assert fitted.info["rows"] == 150 + len(sampled)
