"""A commit that fails never answers "done" (STYLE rule 2) on the surfaces beside the JSON API:
the pages' POST forms (no 303 to the new object, no "sparad" message afterwards, nothing
stored) and the CLI (exit code 1, no success line, nothing stored). The database itself
rejects the COMMIT, as in tests/test_commit_failure.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from matchning.cli import app as cli
from matchning.domain.vocab import Role
from matchning.storage.tables import ParticipantRow, SlotRow, UnitRow, UserRow
from tests.factories import World
from tests.helpers_pages import csrf_of, login, post_form
from tests.test_commit_failure import failing_commits

PASSWORD = "hemligt-lösen-1"


@pytest.fixture
def page_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _count(engine: Engine, table) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(table))


def _assert_not_done(r) -> None:
    assert r.status_code >= 400, f"a failed commit answered {r.status_code}"
    assert "location" not in r.headers
    assert "Inget har ändrats" in r.text or "Inget har sparats" in r.text, r.text


@pytest.mark.parametrize("form", ["slot", "participant"])
def test_a_page_form_whose_commit_fails_says_so_and_stores_nothing(
        page_client: TestClient, app: FastAPI, engine: Engine, world: World, form: str) -> None:
    unit = world.unit()
    employer = world.employer()
    world.user(Role.consultant, unit_id=unit, email="konsulent@example.se")
    assert login(page_client, "konsulent@example.se", PASSWORD).status_code == 303
    if form == "slot":
        path, table, saved = "/platser/ny", SlotRow, "är sparad"
        data = {"employer_id": str(employer), "title": "Aldrig sparad", "occupation": "5223",
                "capacity": "2", "description": "Kassa."}
    else:
        path, table, saved = "/deltagare/ny", ParticipantRow, "är registrerad"
        data = {"display_name": "Aldrig Sparad", "kommun": "Solna", "swedish_level": "C"}
    before = _count(engine, table)
    csrf = csrf_of(page_client.get(path).text)  # every commit fails inside, GETs' too
    with failing_commits(app, engine) as seen:
        r = page_client.post(path, data={**data, "csrf_token": csrf}, follow_redirects=False)
    assert seen == ["before_commit"], seen
    _assert_not_done(r)
    assert _count(engine, table) == before
    # No "saved" message was left in the session for the next page either.
    assert saved not in page_client.get("/").text
    # Once commits work again the same form goes through.
    r = post_form(page_client, path, path, data)
    assert r.status_code == 303, r.text
    assert _count(engine, table) == before + 1


@contextmanager
def failing_cli_commits() -> Iterator[list[str]]:
    """Every session's COMMIT fails in SQLite itself (an orphan row under deferred foreign
    keys), for the commands run in this process."""
    seen: list[str] = []

    def poison(session: Session) -> None:
        seen.append("before_commit")
        session.execute(text("PRAGMA defer_foreign_keys = ON"))
        session.execute(text("INSERT INTO placement_events (placement_id, action, to_status, "
                             "at) VALUES (-1, 'poison', 'poison', CURRENT_TIMESTAMP)"))

    event.listen(Session, "before_commit", poison)
    try:
        yield seen
    finally:
        event.remove(Session, "before_commit", poison)


def _rows(path: Path, table) -> int:
    from matchning.storage.db import make_engine

    engine = make_engine(f"sqlite:///{path / 'matchning.sqlite3'}")
    try:
        return _count(engine, table)
    finally:
        engine.dispose()


@pytest.mark.parametrize("args,table,success", [
    (["users", "create-unit", "Aldrig AME", "--kommuner", "0180"], UnitRow, "Enhet "),
    (["users", "create", "aldrig@example.se", "--role", "system_admin", "--password",
      "ett-bra-lösenord", "--token"], UserRow, "Användare "),
])
def test_a_cli_command_whose_commit_fails_exits_1_and_prints_no_success(
        cli_env: Path, args: list[str], table, success: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init-db"]).exit_code == 0
    with failing_cli_commits() as seen:
        result = runner.invoke(cli, args)
    assert seen, "the command never tried to commit"
    assert result.exit_code == 1, result.output
    assert success not in result.output and "mt_" not in result.output, result.output
    assert "Fel:" in result.output and "Inget har sparats" in result.output, result.output
    assert _rows(cli_env, table) == 0
    ok = runner.invoke(cli, args)
    assert ok.exit_code == 0 and success in ok.output, ok.output
    assert _rows(cli_env, table) == 1
