"""Two consultants can never take the last place twice (PostgreSQL, real concurrent
transactions on separate connections)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from matchning.config import Settings
from matchning.domain.placement_flow import Action
from matchning.domain.principal import Principal
from matchning.domain.vocab import PlacementStatus, Role
from matchning.errors import Conflict, NoCapacity
from matchning.services import placements
from matchning.services.context import Context
from matchning.storage.db import unit_of_work
from matchning.storage.tables import PlacementRow
from tests.factories import Actor, World

pytestmark = [pytest.mark.postgres,
              # The `engine` fixture on PostgreSQL only: it comes from `pg_engine` and empties
              # the tables afterwards.
              pytest.mark.parametrize("engine", ["postgres"], indirect=True)]

ROUNDS = 20
JOIN_TIMEOUT = 30


@dataclass
class Unit:
    world: World
    unit: int
    employer: int
    consultants: tuple[Actor, Actor]

    def principal(self, actor: Actor) -> Principal:
        return Principal(user_id=actor.user_id, email=f"{actor.user_id}@example.se",
                         role=actor.role, unit_id=actor.unit_id)

    def last_place_with_two_proposals(self) -> tuple[int, list[int]]:
        """A slot with capacity 1 and two proposed placements for two participants."""
        slot = self.world.slot(self.employer, capacity=1)
        ids = []
        for _ in range(2):
            person = self.world.participant(self.unit)
            with unit_of_work(self.world.factory) as session:
                ctx = Context(session, self.principal(self.consultants[0]), self.world.settings)
                ids.append(placements.propose(ctx, person, slot).row.id)
        return slot, ids


@pytest.fixture
def unit(world: World) -> Unit:
    unit_id, employer = world.unit(), world.employer()
    pair = (world.user(Role.consultant, unit_id=unit_id, password=None),
            world.user(Role.consultant, unit_id=unit_id, password=None))
    return Unit(world, unit_id, employer, pair)


def _in_threads(*jobs: Callable[[], Any]) -> list[Any]:
    """Run each job in its own thread; return each one's result or raised exception."""
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            results[i] = jobs[i]()
        except BaseException as exc:  # reported to the test, not lost in the thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
        assert not t.is_alive(), "a transaction hung (lock never released?)"
    return results


def _statuses(engine: Engine, slot: int) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(select(PlacementRow.status, func.count())
                               .where(PlacementRow.slot_id == slot)
                               .group_by(PlacementRow.status))
        return {status: n for status, n in rows}


def _accept_in_own_transaction(engine: Engine, settings: Settings, principal: Principal,
                               placement_id: int, barrier: threading.Barrier) -> str:
    """Accept on its own connection and in its own transaction, committed as a surface does."""
    with engine.connect() as conn, Session(bind=conn) as session:
        ctx = Context(session, principal, settings)
        barrier.wait()
        try:
            view = placements.transition(ctx, placement_id, Action.accept)
            session.commit()
            return view.row.status
        except BaseException:
            session.rollback()
            raise


def test_last_place_is_taken_once_under_concurrent_accepts(engine: Engine, unit: Unit,
                                                           settings: Settings) -> None:
    for _ in range(ROUNDS):
        slot, ids = unit.last_place_with_two_proposals()
        barrier = threading.Barrier(2, timeout=JOIN_TIMEOUT)
        results = _in_threads(*(
            partial(_accept_in_own_transaction, engine, settings, unit.principal(actor), pl,
                    barrier)
            for pl, actor in zip(ids, unit.consultants, strict=True)))
        winners = [r for r in results if r == PlacementStatus.accepted.value]
        losers = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert isinstance(losers[0], NoCapacity), results
        assert _statuses(engine, slot) == {"accepted": 1, "proposed": 1}


def test_the_slot_lock_is_held_until_commit(engine: Engine, unit: Unit,
                                            settings: Settings) -> None:
    """Deterministic companion of the race: while the first transaction has accepted but not
    committed, the second waits on the slot row, then sees the place taken."""
    slot, ids = unit.last_place_with_two_proposals()
    first_accepted, may_commit = threading.Event(), threading.Event()

    def first() -> str:
        with engine.connect() as conn, Session(bind=conn) as session:
            ctx = Context(session, unit.principal(unit.consultants[0]), settings)
            placements.transition(ctx, ids[0], Action.accept)
            first_accepted.set()
            assert may_commit.wait(JOIN_TIMEOUT)
            session.commit()
            return "committed"

    second_done = threading.Event()

    def second() -> str:
        assert first_accepted.wait(JOIN_TIMEOUT)
        try:
            with engine.connect() as conn, Session(bind=conn) as session:
                ctx = Context(session, unit.principal(unit.consultants[1]), settings)
                placements.transition(ctx, ids[1], Action.accept)
                session.commit()
                return "accepted too"
        finally:
            second_done.set()

    def referee() -> bool:
        assert first_accepted.wait(JOIN_TIMEOUT)
        # The second transaction must still be waiting for the slot row.
        blocked = not second_done.wait(0.5)
        may_commit.set()
        return blocked

    results = _in_threads(first, second, referee)
    assert results[0] == "committed", results
    assert isinstance(results[1], NoCapacity), results
    assert results[2] is True, "the second accept did not wait for the first one's lock"
    assert _statuses(engine, slot) == {"accepted": 1, "proposed": 1}


def test_two_concurrent_requests_take_the_last_place_once(engine: Engine, unit: Unit,
                                                          client: TestClient) -> None:
    def accept(placement_id: int, actor: Actor, barrier: threading.Barrier):
        barrier.wait()
        return client.post(f"/api/v1/placements/{placement_id}/accept", headers=actor.headers)

    for _ in range(ROUNDS // 2):
        slot, ids = unit.last_place_with_two_proposals()
        barrier = threading.Barrier(2, timeout=JOIN_TIMEOUT)
        responses = _in_threads(*(partial(accept, pl, actor, barrier)
                                  for pl, actor in zip(ids, unit.consultants, strict=True)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.json()["error"]["code"] == "no_capacity"
        assert _statuses(engine, slot) == {"accepted": 1, "proposed": 1}
        r = client.get(f"/api/v1/slots/{slot}", headers=unit.consultants[0].headers)
        assert r.json()["remaining_places"] == 0
