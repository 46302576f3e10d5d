"""A 2xx means "committed" (STYLE rule 2): a write whose COMMIT fails answers with an error and
stores nothing, and a successful write is committed before the response leaves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from matchning.domain.vocab import Role
from matchning.storage.tables import PlacementRow, SlotRow
from tests.factories import Actor, World, slot_body

API = "/api/v1"
POISON_ACTION = "test.fail_on_commit"

# PostgreSQL: a constraint trigger deferred to COMMIT that rejects the poison row.
PG_INSTALL = (
    """CREATE FUNCTION test_fail_on_commit() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'deferred check failed at commit' USING ERRCODE = '23514';
       END $$""",
    f"""CREATE CONSTRAINT TRIGGER test_fail_on_commit AFTER INSERT ON audit_log
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (NEW.action = '{POISON_ACTION}') EXECUTE FUNCTION test_fail_on_commit()""",
)
PG_REMOVE = ("DROP TRIGGER IF EXISTS test_fail_on_commit ON audit_log",
             "DROP FUNCTION IF EXISTS test_fail_on_commit()")


@contextmanager
def failing_commits(app: FastAPI, engine: Engine) -> Iterator[list[str]]:
    """Make every COMMIT of the app's sessions fail in the database itself.

    Just before committing, each session writes a row that breaks a constraint checked only at
    COMMIT: on SQLite an orphan foreign key with `defer_foreign_keys`, on PostgreSQL a row that
    a DEFERRABLE INITIALLY DEFERRED constraint trigger rejects. Flushes succeed; COMMIT fails.
    """
    seen: list[str] = []
    sqlite = engine.dialect.name == "sqlite"

    def poison(session: Session) -> None:
        seen.append("before_commit")
        if sqlite:
            session.execute(text("PRAGMA defer_foreign_keys = ON"))
            session.execute(text("INSERT INTO placement_events (placement_id, action, to_status,"
                                 " at) VALUES (-1, 'poison', 'poison', CURRENT_TIMESTAMP)"))
        else:
            session.execute(text("INSERT INTO audit_log (at, action, subject_type, subject_id, "
                                 "detail) VALUES (now(), :a, 'test', '0', '{}')"),
                            {"a": POISON_ACTION})

    def committed(_: Session) -> None:
        seen.append("after_commit")

    if not sqlite:
        with engine.begin() as conn:
            for sql in PG_INSTALL:
                conn.execute(text(sql))
    factory = app.state.session_factory
    event.listen(factory, "before_commit", poison)
    event.listen(factory, "after_commit", committed)
    try:
        yield seen
    finally:
        event.remove(factory, "before_commit", poison)
        event.remove(factory, "after_commit", committed)
        if not sqlite:
            with engine.begin() as conn:
                for sql in PG_REMOVE:
                    conn.execute(text(sql))


@pytest.fixture
def raw_client(app: FastAPI) -> Iterator[TestClient]:
    """A client that returns 500s instead of raising, so a late failure shows as a response."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def consultant(world: World) -> Actor:
    return world.user(Role.consultant, unit_id=world.unit(), password=None)


def _count(engine: Engine, stmt) -> int:
    with Session(engine) as session:
        return session.scalar(stmt)


def _assert_error_response(r) -> dict[str, Any]:
    assert not 200 <= r.status_code < 300, f"a failed commit answered {r.status_code}"
    assert 400 <= r.status_code < 600, r.text
    err = r.json()["error"]
    assert set(err) == {"code", "message", "details"}
    assert err["code"] and err["message"].strip()
    return err


def test_failed_commit_of_a_new_slot_is_an_error_and_stores_nothing(
        raw_client: TestClient, app: FastAPI, engine: Engine, world: World,
        consultant: Actor) -> None:
    emp = world.employer()
    before = raw_client.get(f"{API}/slots", headers=consultant.headers).json()
    with failing_commits(app, engine) as seen:
        r = raw_client.post(f"{API}/slots", json=slot_body(emp, title="Aldrig sparad"),
                            headers=consultant.headers)
    assert seen == ["before_commit"], seen  # the commit was attempted and never succeeded
    _assert_error_response(r)
    assert raw_client.get(f"{API}/slots", headers=consultant.headers).json() == before
    assert _count(engine, select(func.count()).select_from(SlotRow)) == before["total"] == 0


def test_failed_commit_of_an_accept_is_an_error_and_changes_nothing(
        raw_client: TestClient, app: FastAPI, engine: Engine, world: World,
        consultant: Actor) -> None:
    slot = world.slot(world.employer(), capacity=1)
    person = world.participant(consultant.unit_id)
    r = raw_client.post(f"{API}/placements", json={"participant_id": person, "slot_id": slot},
                        headers=consultant.headers)
    assert r.status_code == 201, r.text
    pl = r.json()["id"]

    def state() -> tuple[Any, ...]:
        get = lambda path: raw_client.get(f"{API}{path}", headers=consultant.headers).json()  # noqa: E731
        return (get(f"/placements/{pl}"), get(f"/placements/{pl}/events"),
                get(f"/slots/{slot}")["remaining_places"])

    before = state()
    with failing_commits(app, engine) as seen:
        r = raw_client.post(f"{API}/placements/{pl}/accept", headers=consultant.headers)
    assert seen == ["before_commit"], seen
    _assert_error_response(r)
    assert state() == before
    assert before[0]["status"] == "proposed" and before[2] == 1
    # The place is still free: the same accept succeeds once commits work again.
    r = raw_client.post(f"{API}/placements/{pl}/accept", headers=consultant.headers)
    assert r.status_code == 200, r.text
    assert state()[2] == 0


def test_the_commit_runs_before_the_response_is_sent(app: FastAPI, engine: Engine,
                                                     world: World, consultant: Actor) -> None:
    """At the moment the response starts, the write is already visible to another connection."""
    log: list[Any] = []

    def visible_slots() -> int:
        return _count(engine, select(func.count()).select_from(SlotRow))

    def recording(asgi_app):
        async def wrapper(scope, receive, send):
            async def spy(message):
                if message["type"] == "http.response.start" and scope.get("method") == "POST":
                    log.append(("response", visible_slots()))
                await send(message)
            await asgi_app(scope, receive, spy)
        return wrapper

    emp = world.employer()
    with TestClient(recording(app), raise_server_exceptions=False) as c:
        factory = app.state.session_factory
        mark = lambda _s: log.append(("commit",))  # noqa: E731
        event.listen(factory, "after_commit", mark)
        try:
            r = c.post(f"{API}/slots", json=slot_body(emp), headers=consultant.headers)
        finally:
            event.remove(factory, "after_commit", mark)
    assert r.status_code == 201, r.text
    assert log == [("commit",), ("response", 1)], log
    # And a fresh session right after the response reads it back.
    with Session(engine) as session:
        row = session.get(SlotRow, r.json()["id"])
        assert row is not None and row.title == "Butiksbiträde"


def test_accept_is_committed_when_answered(client: TestClient, engine: Engine, world: World,
                                           consultant: Actor) -> None:
    slot = world.slot(world.employer(), capacity=1)
    person = world.participant(consultant.unit_id)
    r = client.post(f"{API}/placements", json={"participant_id": person, "slot_id": slot},
                    headers=consultant.headers)
    pl = r.json()["id"]
    r = client.post(f"{API}/placements/{pl}/accept", headers=consultant.headers)
    assert r.status_code == 200, r.text
    with Session(engine) as session:
        assert session.get(PlacementRow, pl).status == "accepted"
