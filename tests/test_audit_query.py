"""The audit log: every read of a participant, every suggestion (with its model version),
every placement change and export is recorded; unit admins read their unit's rows, system
admins all, through `GET /audit` and `matchning audit`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matchning.cli import app as cli_app
from matchning.domain.principal import SYSTEM
from matchning.domain.vocab import Role
from matchning.services import export, training
from matchning.services.context import Context
from matchning.storage.db import unit_of_work
from matchning.storage.repositories import audit
from tests.factories import Actor
from tests.helpers_api import API, assert_error, quick_user
from tests.privacy_helpers import build, consultant_context


@pytest.fixture
def scene(world, client, settings):
    hw = build(world)
    with unit_of_work(world.factory) as session:
        version = training.train(Context(session=session, principal=SYSTEM,
                                         settings=settings)).version
    unit_b = world.unit(name="AME Annan")
    other = world.participant(unit_b, display_name="Annan Enhet")
    actors = {
        "cons_a": Actor(hw.consultant.user_id, _token(world, hw.consultant.user_id),
                        Role.consultant, hw.unit_id),
        "admin_a": quick_user(world, Role.unit_admin, unit_id=hw.unit_id),
        "cons_b": quick_user(world, Role.consultant, unit_id=unit_b),
        "admin_b": quick_user(world, Role.unit_admin, unit_id=unit_b),
        "employer": quick_user(world, Role.employer, employer_id=world.employer()),
        "sysadmin": quick_user(world, Role.system_admin),
    }
    return hw, version, unit_b, other, actors


def _token(world, user_id: int) -> str:
    from matchning.services import users

    with unit_of_work(world.factory) as session:
        return users.issue_token(Context(session=session, principal=SYSTEM,
                                         settings=world.settings), user_id, "t").token


def _rows(client, actor: Actor, query: str = "") -> list[dict]:
    r = client.get(f"{API}/audit?limit=500{query}", headers=actor.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] >= len(body["items"])
    return body["items"]


def test_every_use_is_recorded_with_who_what_and_model_version(scene, client, world,
                                                               settings) -> None:
    hw, version, _, _, actors = scene
    h = actors["cons_a"].headers
    pid = hw.others[0]
    assert client.get(f"{API}/participants/{pid}", headers=h).status_code == 200
    assert client.get(f"{API}/participants", headers=h).status_code == 200
    assert client.patch(f"{API}/participants/{pid}", json={"profile_text": "Ny text."},
                        headers=h).status_code == 200
    rec = client.get(f"{API}/participants/{pid}/recommendations?k=3", headers=h)
    assert rec.status_code == 200, rec.text
    assert client.get(f"{API}/participants/{pid}/recommendations/excluded",
                      headers=h).status_code == 200
    fresh = world.slot(world.employer(), title="Lagerarbetare", capacity=3,
                       start_date=date.today())
    cand = client.get(f"{API}/slots/{fresh}/candidates?k=3", headers=h)
    assert cand.status_code == 200 and cand.json()["items"], cand.text
    pl = client.post(f"{API}/placements", json={"participant_id": pid,
                                                "slot_id": hw.slots[5]}, headers=h).json()
    assert client.post(f"{API}/placements/{pl['id']}/accept", headers=h).status_code == 200
    assert client.get(f"{API}/placements/{pl['id']}", headers=h).status_code == 200
    assert client.get(f"{API}/placements?participant_id={pid}", headers=h).status_code == 200
    with unit_of_work(world.factory) as session:
        export.export_participant(consultant_context(session, hw.consultant, settings), pid)

    rows = _rows(client, actors["admin_a"], f"&participant_id={pid}")
    actions = {r["action"] for r in rows}
    assert {"participant.read", "participant.list", "participant.update",
            "recommendations.read", "recommendations.excluded_read", "placement.propose",
            "placement.accept", "placement.read", "placement.list",
            "participant.export"} <= actions, actions
    for r in rows:
        assert r["subject_type"] == "participant" and r["subject_id"] == str(pid)
        assert r["unit_id"] == hw.unit_id and r["at"]
    mine = [r for r in rows if r["action"] != "participant.create"]
    assert {r["user_id"] for r in mine} == {hw.consultant.user_id}
    for r in rows:
        if r["action"].startswith("recommendations."):
            assert r["model_version"] == version
    suggested = next(r for r in rows if r["action"] == "recommendations.read")
    assert suggested["detail"]["slot_ids"] == [i["slot"]["id"] for i in rec.json()["items"]]
    moved = next(r for r in rows if r["action"] == "placement.accept")
    assert moved["detail"] == {"placement_id": pl["id"], "from": "proposed", "to": "accepted"}
    candidates = _rows(client, actors["sysadmin"], "&user_id="
                       f"{hw.consultant.user_id}")
    assert any(r["action"] == "candidates.read" and r["model_version"] == version
               for r in candidates)


def test_unit_admins_see_their_unit_and_system_admins_all(scene, client) -> None:
    hw, _, unit_b, other, actors = scene
    assert client.get(f"{API}/participants/{other}",
                      headers=actors["cons_b"].headers).status_code == 200
    seen_a = _rows(client, actors["admin_a"])
    seen_b = _rows(client, actors["admin_b"])
    every = _rows(client, actors["sysadmin"])
    assert seen_a and seen_b
    assert {r["unit_id"] for r in seen_a} == {hw.unit_id}
    assert {r["unit_id"] for r in seen_b} == {unit_b}
    assert str(other) not in {r["subject_id"] for r in seen_a
                              if r["subject_type"] == "participant"}
    assert {r["id"] for r in seen_a} | {r["id"] for r in seen_b} <= {r["id"] for r in every}
    # Another unit's participant: no rows, not an error (nothing leaks either way).
    assert _rows(client, actors["admin_a"], f"&participant_id={other}") == []
    for role in ("cons_a", "cons_b", "employer"):
        assert_error(client.get(f"{API}/audit", headers=actors[role].headers), 403)
    assert_error(client.get(f"{API}/audit"), 401)


def test_filters_by_user_and_period_and_pages(scene, client, world) -> None:
    hw, _, _, _, actors = scene
    admin = actors["admin_a"]
    with unit_of_work(world.factory) as session:
        for day in (date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)):
            audit.record(session, user_id=4242, action="participant.read",
                         subject_type="participant", subject_id=hw.person,
                         at=datetime(day.year, day.month, day.day, 23, 59, tzinfo=UTC))
    rows = _rows(client, admin, "&user_id=4242")
    assert [r["at"][:10] for r in rows] == ["2025-03-03", "2025-03-02", "2025-03-01"]
    assert [r["at"][:10] for r in _rows(client, admin, "&user_id=4242&from=2025-03-02")] == [
        "2025-03-03", "2025-03-02"]
    assert [r["at"][:10] for r in _rows(
        client, admin, "&user_id=4242&from=2025-03-02&to=2025-03-02")] == ["2025-03-02"]
    page = client.get(f"{API}/audit?user_id=4242&limit=1&offset=1", headers=admin.headers)
    assert page.json()["total"] == 3 and page.json()["items"][0]["at"][:10] == "2025-03-02"
    assert_error(client.get(f"{API}/audit?from=2025-03-03&to=2025-03-01",
                            headers=admin.headers), 422, field="from")
    assert_error(client.get(f"{API}/audit?from=igår", headers=admin.headers), 422)
    # Reading the log is itself recorded, with the filters used.
    reads = [r for r in _rows(client, actors["sysadmin"], f"&user_id={admin.user_id}")
             if r["action"] == "audit.read"]
    assert reads and reads[0]["unit_id"] == hw.unit_id
    assert any(r["detail"].get("user_id") == 4242 for r in reads)


def test_cli_audit_query(cli_env: Path) -> None:
    from matchning.config import get_settings
    from matchning.storage.db import engine_from_settings, make_session_factory
    from tests.factories import World

    runner = CliRunner()
    assert runner.invoke(cli_app, ["init-db"]).exit_code == 0
    s = get_settings()
    engine = engine_from_settings(s)
    try:
        hw = build(World(make_session_factory(engine), s))
    finally:
        engine.dispose()
    out = runner.invoke(cli_app, ["audit", "--participant", str(hw.person), "--json"])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert rows and all(r["subject_id"] == str(hw.person) for r in rows)
    assert "participant.create" in {r["action"] for r in rows}
    today = datetime.now(UTC).date()
    text = runner.invoke(cli_app, ["audit", "--user", str(hw.consultant.user_id),
                                   "--from", str(today - timedelta(days=1)),
                                   "--to", str(today)])
    assert text.exit_code == 0 and "placement.propose" in text.output, text.output
    assert "Zyxwa" not in out.output + text.output
    bad = runner.invoke(cli_app, ["audit", "--from", "igår"])
    assert bad.exit_code == 2 and "ÅÅÅÅ-MM-DD" in bad.output
