"""The worker's participant matrices (services.matcher) stay in step with the database.

One Matcher lives across committed units of work, as in a worker: an edited, paused or placed
participant is reflected on the very next request, a write that forgot the counter still never
lists a changed participant, and a unit's matrix survives writes in other units. The reach
index behind the reverse direction never loses a participant within reach.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update

from matchning.config import Settings
from matchning.domain.placement_flow import Action
from matchning.domain.principal import SYSTEM, Principal
from matchning.domain.vocab import ParticipantStatus, Role
from matchning.ml.geo import pair_distance_km
from matchning.ml.profiles import ProfileMatrix, ProfileReach
from matchning.reference import get_reference
from matchning.services import participants, placements, recommendations, users
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.storage.db import make_session_factory, unit_of_work
from matchning.storage.repositories import counters
from matchning.storage.tables import ParticipantRow, SlotRow, UnitRow, UserRow
from tests.conftest import backend_engine, seed_and_train

REF = get_reference()


@dataclass
class Unit:
    engine: Engine
    settings: Settings
    unit_id: int
    consultant: Principal

    def run(self, fn, principal: Principal | None = None, matcher: Matcher | None = None):
        """`fn(ctx)` in its own committed unit of work."""
        with unit_of_work(make_session_factory(self.engine)) as session:
            return fn(Context(session=session, principal=principal or self.consultant,
                              settings=self.settings, matcher=matcher))

    def candidates(self, matcher: Matcher, slot_id: int, k: int = 50) -> list[int]:
        out = self.run(lambda ctx: recommendations.candidates(ctx, slot_id, k), matcher=matcher)
        return [i["participant"]["id"] for i in out.items]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def unit(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         frozen_day: None) -> Iterator[Unit]:
    tmp = tmp_path_factory.mktemp("candidates-cache")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        _, unit_id = seed_and_train(engine, settings)
        with make_session_factory(engine)() as session:
            user = session.scalars(select(UserRow).where(
                UserRow.unit_id == unit_id, UserRow.role == Role.consultant.value)).first()
            assert user is not None
            consultant = users.principal_of(user)
        yield Unit(engine, settings, unit_id, consultant)


def _busy_slot(unit: Unit, matcher: Matcher, skip: tuple[int, ...] = ()) -> tuple[int, list[int]]:
    """An open slot with at least three candidates, and its candidates."""
    with make_session_factory(unit.engine)() as session:
        slot_ids = session.scalars(select(SlotRow.id).where(SlotRow.status == "open")
                                   .order_by(SlotRow.id)).all()
    for sid in slot_ids:
        if sid in skip:
            continue
        listed = unit.candidates(matcher, sid)
        if len(listed) >= 3:
            return sid, listed
    raise AssertionError("the demo world has no open slot with three candidates")


def _pool(unit: Unit, matcher: Matcher):
    def get(ctx: Context):
        return matcher.participants(ctx.session, matcher.model(ctx.session), unit.unit_id,
                                    ctx.ref)
    return unit.run(get)


def _assert_same_as_built_afresh(unit: Unit, matcher: Matcher) -> None:
    """The matrix a worker refreshed in place equals one built from scratch."""
    import dataclasses

    kept, fresh = _pool(unit, matcher), _pool(unit, Matcher(unit.settings.models_dir))
    assert kept.ids.tolist() == fresh.ids.tolist()
    assert kept.versions.tolist() == fresh.versions.tolist()
    assert (kept.external_ids, kept.names) == (fresh.external_ids, fresh.names)
    assert kept.matrix.records == fresh.matrix.records
    for f in dataclasses.fields(kept.matrix):
        if f.name != "records":
            a, b = getattr(kept.matrix, f.name), getattr(fresh.matrix, f.name)
            if a.ndim == 2:  # padded lists: widths may differ, the content may not
                w = min(a.shape[1], b.shape[1])
                assert np.all(a[:, w:] == (0 if f.name == "past_years" else -1))
                assert np.all(b[:, w:] == (0 if f.name == "past_years" else -1))
                a, b = a[:, :w], b[:, :w]
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f.name
    for a, b in ((kept.encoded.skills, fresh.encoded.skills),
                 (kept.encoded.text, fresh.encoded.text)):
        assert a.shape == b.shape and abs(a - b).max() < 1e-6


def test_an_unchanged_unit_reuses_its_matrix(unit: Unit) -> None:
    matcher = Matcher(unit.settings.models_dir)
    slot, first = _busy_slot(unit, matcher)
    pool = _pool(unit, matcher)
    assert unit.candidates(matcher, slot) == first
    assert _pool(unit, matcher) is pool


def test_an_edited_participant_is_seen_on_the_next_request(unit: Unit) -> None:
    matcher = Matcher(unit.settings.models_dir)
    slot, listed = _busy_slot(unit, matcher)
    who = listed[0]
    before = unit.run(lambda ctx: ctx.session.get(ParticipantRow, who).max_commute_km)
    # Nowhere is within 0 km of a slot with a point: the rules must drop them at once.
    unit.run(lambda ctx: participants.update(ctx, who, {"max_commute_km": 0}))
    assert who not in unit.candidates(matcher, slot)
    _assert_same_as_built_afresh(unit, matcher)
    unit.run(lambda ctx: participants.update(ctx, who, {"max_commute_km": before}))
    assert unit.candidates(matcher, slot) == listed
    _assert_same_as_built_afresh(unit, matcher)


def test_a_paused_participant_leaves_the_list(unit: Unit) -> None:
    matcher = Matcher(unit.settings.models_dir)
    slot, listed = _busy_slot(unit, matcher)
    who = listed[1]
    unit.run(lambda ctx: participants.update(ctx, who, {"status": "pausad"}))
    try:
        assert who not in unit.candidates(matcher, slot)
    finally:
        unit.run(lambda ctx: participants.update(ctx, who, {"status": "väntande"}))
    assert unit.candidates(matcher, slot) == listed


def test_a_new_participant_is_a_candidate_on_the_next_request(unit: Unit) -> None:
    from matchning.domain.records import ParticipantData

    matcher = Matcher(unit.settings.models_dir)
    slot, listed = _busy_slot(unit, matcher)
    twin = unit.run(lambda ctx: participants.as_data(ctx.session.get(ParticipantRow,
                                                                     listed[0])))
    data = ParticipantData.model_validate({**twin, "unit_id": unit.unit_id,
                                           "external_id": "twin-of-first",
                                           "display_name": "Tvilling", "consultant_id": None})
    new_id = unit.run(lambda ctx: participants.create(ctx, data).id)
    assert new_id in unit.candidates(matcher, slot)
    _assert_same_as_built_afresh(unit, matcher)


def test_a_started_placement_removes_and_its_end_brings_back(unit: Unit) -> None:
    matcher = Matcher(unit.settings.models_dir)
    slot, listed = _busy_slot(unit, matcher)
    other, _ = _busy_slot(unit, matcher, skip=(slot,))  # has a free place
    who = listed[0]
    pl = unit.run(lambda ctx: placements.propose(ctx, who, other).row.id)
    for action in (Action.accept, Action.start):
        unit.run(lambda ctx, a=action: placements.transition(ctx, pl, a))
    assert who not in unit.candidates(matcher, slot)  # 'i praktik' now
    _assert_same_as_built_afresh(unit, matcher)
    unit.run(lambda ctx: placements.transition(ctx, pl, Action.complete))
    assert who in unit.candidates(matcher, slot)      # waiting again
    _assert_same_as_built_afresh(unit, matcher)


def test_a_write_that_forgot_the_counter_never_lists_a_changed_participant(unit: Unit) -> None:
    matcher = Matcher(unit.settings.models_dir)
    slot, listed = _busy_slot(unit, matcher)
    who = listed[0]
    counter = unit.run(lambda ctx: counters.value(
        ctx.session, counters.participants_of(unit.unit_id)))
    unit.run(lambda ctx: ctx.session.execute(update(ParticipantRow).where(
        ParticipantRow.id == who).values(status=ParticipantStatus.ended.value)), SYSTEM)
    try:
        assert who not in unit.candidates(matcher, slot)
        assert counter == unit.run(lambda ctx: counters.value(
            ctx.session, counters.participants_of(unit.unit_id)))
    finally:
        unit.run(lambda ctx: ctx.session.execute(update(ParticipantRow).where(
            ParticipantRow.id == who).values(status=ParticipantStatus.waiting.value)), SYSTEM)


def test_a_write_in_another_unit_keeps_this_units_matrix(unit: Unit) -> None:
    matcher = Matcher(unit.settings.models_dir)
    _busy_slot(unit, matcher)
    pool = _pool(unit, matcher)
    other = unit.run(lambda ctx: ctx.session.scalars(select(UnitRow.id).where(
        UnitRow.id != unit.unit_id)).first(), SYSTEM)
    if other is None:
        from matchning.domain.records import UnitData
        from matchning.services import units
        other = unit.run(lambda ctx: units.create(ctx, UnitData(
            name="Enheten bredvid", kommuner=["1480"])).id, SYSTEM)
    unit.run(lambda ctx: counters.bump(ctx.session, counters.participants_of(other)), SYSTEM)
    assert _pool(unit, matcher) is pool
    unit.run(lambda ctx: counters.bump(ctx.session, counters.participants_of(unit.unit_id)),
             SYSTEM)
    assert _pool(unit, matcher) is not pool


# --- the reach index ------------------------------------------------------------------------

KOMMUNER = ("2180", "2181", "0319", "0380", "0180", "0183", "2584", "1480", "1280", "2480")


def _profiles(rng: np.random.Generator, n: int) -> ProfileMatrix:
    recs = []
    for _ in range(n):
        kommun = str(rng.choice(KOMMUNER))
        m = REF.municipalities[kommun]
        point = rng.random() < 0.7
        recs.append({"kommunkod": kommun,
                     "lat": m.lat + rng.uniform(-0.3, 0.3) if point else None,
                     "lon": m.lon + rng.uniform(-0.6, 0.6) if point else None,
                     "max_commute_km": float(rng.choice([0, 3, 8, 15, 30, 50, 120, 400])),
                     "swedish_level": "D"})
    return ProfileMatrix.from_records(recs, REF)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_reach_never_loses_a_participant_within_reach(seed: int) -> None:
    rng = np.random.default_rng(seed)
    P = _profiles(rng, 300)
    kommun = str(rng.choice(KOMMUNER))
    m = REF.municipalities[kommun]
    has = bool(rng.random() < 0.7)
    lat = m.lat + rng.uniform(-0.3, 0.3) if has else m.lat
    lon = m.lon + rng.uniform(-0.6, 0.6) if has else m.lon
    dist = pair_distance_km(P.lat, P.lon, P.has_point, P.kommun, lat, lon, has, kommun, 5.0)
    within = set(np.flatnonzero(dist <= P.commute).tolist())
    found = ProfileReach.build(P).within(lat, lon)
    assert within <= set(found.tolist())
    assert list(found) == sorted(found)


def test_reach_of_nobody_is_empty() -> None:
    empty = ProfileMatrix.from_records([], REF)
    assert len(ProfileReach.build(empty).within(59.3, 18.0)) == 0
    assert len(empty.take(np.zeros(0, dtype=np.int64))) == 0


def test_profile_take_keeps_rows_aligned() -> None:
    P = _profiles(np.random.default_rng(1), 20)
    idx = np.array([3, 0, 17])
    sub = P.take(idx)
    assert [r["kommunkod"] for r in sub.records] == [P.records[i]["kommunkod"] for i in idx]
    assert np.array_equal(sub.commute, P.commute[idx])


def test_a_big_catalogue_build_settles_the_heap(unit: Unit, monkeypatch) -> None:
    """After a catalogue build the survivors are frozen out of later collections, and what
    an earlier build froze is collected by the next one: nothing is kept for good."""
    import gc
    import weakref

    from matchning.services import matcher as matcher_module

    monkeypatch.setattr(matcher_module, "SETTLE_FROM_SLOTS", 0)

    class Cycle:
        pass

    junk = Cycle()
    junk.me = junk  # type: ignore[attr-defined]
    alive = weakref.ref(junk)
    gc.freeze()  # as an earlier build leaves it
    del junk
    try:
        m = Matcher(unit.settings.models_dir)
        unit.run(lambda ctx: m.serving(ctx.session, ctx.ref))
        assert alive() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
