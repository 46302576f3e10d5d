"""Erasure (GDPR art. 17): after `DELETE /participants/{id}` no personal value of the person is
left in any table or model file, while the placement history still trains the model."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from matchning.cli import app as cli_app
from matchning.domain.principal import SYSTEM
from matchning.domain.snapshot import SNAPSHOT_FIELDS
from matchning.services import export, training
from matchning.services.context import Context
from matchning.storage.db import unit_of_work
from matchning.storage.repositories import counters
from matchning.storage.repositories.audit import AppendOnlyViolation
from matchning.storage.repositories.privacy import ERASED
from matchning.storage.tables import (
    AuditRow,
    FeedbackRow,
    MonitoringRow,
    ParticipantRow,
    PlacementEventRow,
    PlacementRow,
    PrecomputedSuggestionRow,
)
from tests.helpers_api import API, assert_error
from tests.privacy_helpers import (
    DISTINCT,
    EXACT,
    build,
    consultant_context,
    needles,
    scan_database,
    scan_files,
)


def _training_rows(factory, settings) -> int:
    with unit_of_work(factory) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=settings)
        return len(training.training_rows(training.load_history(ctx)))


def _count(session: Session, table, *where) -> int:
    return session.scalar(select(func.count()).select_from(table).where(*where)) or 0


def _token_for(world, principal) -> dict[str, str]:
    from matchning.services import users

    with unit_of_work(world.factory) as session:
        issued = users.issue_token(Context(session=session, principal=SYSTEM,
                                           settings=world.settings), principal.user_id, "t")
    return {"Authorization": f"Bearer {issued.token}"}


def test_erasure_leaves_nothing_personal_and_keeps_the_history(engine, world, client,
                                                               settings) -> None:
    hw = build(world)
    with unit_of_work(world.factory) as session:
        ctx = consultant_context(session, hw.consultant, settings)
        export.export_participant(ctx, hw.person)  # an export, audited
        session.add(PrecomputedSuggestionRow(  # derived data about the person
            unit_id=hw.unit_id, participant_id=hw.person, slot_id=hw.slots[5], rank=1,
            score=0.5, distance_km=3.0, model_version="v", computed_at=datetime.now(UTC)))
    with unit_of_work(world.factory) as session:
        trained = training.train(Context(session=session, principal=SYSTEM, settings=settings))
    assert trained.activated
    secrets = needles(settings.secret_key)
    # The scan finds the person before: it looks in the right places.
    before = scan_database(engine, secrets)
    assert {t for t, _, _ in before} >= {"participants", "placements", "feedback"}, before
    with unit_of_work(world.factory) as session:
        placements_before = _count(session, PlacementRow)
        events_before = _count(session, PlacementEventRow)
        feedback_before = _count(session, FeedbackRow)
        monitoring_before = _count(session, MonitoringRow)
        audit_about = _count(session, AuditRow, AuditRow.subject_type == "participant",
                             AuditRow.subject_id == str(hw.person))
        counter = counters.value(session, counters.participants_of(hw.unit_id))
    rows_before = _training_rows(world.factory, settings)
    headers = _token_for(world, hw.consultant)

    r = client.delete(f"{API}/participants/{hw.person}", headers=headers)
    assert r.status_code == 204, r.text

    assert scan_database(engine, secrets) == []
    assert scan_files(settings.models_dir, secrets) == []
    assert _training_rows(world.factory, settings) == rows_before
    with unit_of_work(world.factory) as session:
        assert _count(session, PlacementRow) == placements_before
        assert _count(session, PlacementEventRow) == events_before
        assert _count(session, FeedbackRow) == feedback_before
        assert _count(session, MonitoringRow) == monitoring_before - 1
        assert session.get(ParticipantRow, hw.person) is None
        # The workers' cached participant matrices of the unit are rebuilt without them.
        assert counters.value(session, counters.participants_of(hw.unit_id)) > counter
        assert _count(session, PrecomputedSuggestionRow) == 0
        # Nothing refers to the old id any more.
        assert _count(session, AuditRow, AuditRow.subject_id == str(hw.person)) == 0
        assert _count(session, PlacementRow, PlacementRow.participant_id == hw.person) == 0
        # The history lives on under one pseudonym with only coarse fields.
        moved = session.scalars(select(PlacementRow).where(
            PlacementRow.id.in_(hw.placements.values()))).all()
        pseudonym = {pl.participant_id for pl in moved}
        assert len(pseudonym) == 1
        (new_id,) = pseudonym
        assert new_id < 0
        row = session.get(ParticipantRow, new_id)
        assert row is not None and row.status == ERASED and row.unit_id == hw.unit_id
        assert (row.display_name, row.external_id, row.pnr_hash, row.postcode, row.lat,
                row.lon, row.consultant_id, row.profile_text) == ("", None, None, None, None,
                                                                  None, None, "")
        assert row.adaptations == [] and row.target_groups == [] and not row.needs_supervisor
        assert row.adaptations_consent_date is None
        assert session.get(MonitoringRow, new_id) is None
        for pl in moved:
            assert set(pl.snapshot) == set(SNAPSHOT_FIELDS)
            assert pl.snapshot["wished_occupations"] == ["4322"]
            assert pl.snapshot["past_work"] == [{"code": "9111", "years": 3.0}]
            assert pl.snapshot["skills"] == ["Bergtruck"]
            assert (pl.snapshot["kommunkod"], pl.snapshot["swedish_level"],
                    pl.snapshot["max_hours_per_week"]) == ("0180", "C", 30.0)
            assert pl.snapshot["adaptations"] == [] and pl.snapshot["lat"] is None
            assert pl.note is None and pl.decline_reason is None
        statuses = {pl.status for pl in moved}
        assert statuses == {"completed", "aborted", "declined"}
        assert {fb.participant_id for fb in session.scalars(select(FeedbackRow)
                .where(FeedbackRow.participant_id < 0))} == {new_id}
        # The audit rows about the person are now about the pseudonym, plus the erasure.
        about = session.scalars(select(AuditRow).where(
            AuditRow.subject_type == "participant", AuditRow.subject_id == str(new_id))
            .order_by(AuditRow.id)).all()
        assert len(about) == audit_about + 1
        erased = about[-1]
        assert erased.action == "participant.erase"
        assert erased.user_id == hw.consultant.user_id and erased.unit_id == hw.unit_id
        # Who, when, the new id (the row's subject) and counts; never the old id.
        assert erased.detail == {"reason": "request", "placements": 3, "feedback": 2,
                                 "audit_rows": audit_about}
        assert {"participant.create", "participant.read", "placement.propose",
                "feedback.not_suitable", "participant.export"} <= {a.action for a in about}

    # The pseudonym is for training and statistics only: the API shows nothing of it.
    assert_error(client.get(f"{API}/participants/{hw.person}", headers=headers), 404)
    assert_error(client.get(f"{API}/participants/{new_id}", headers=headers), 404)
    assert_error(client.delete(f"{API}/participants/{hw.person}", headers=headers), 404)
    listed = client.get(f"{API}/participants?limit=500", headers=headers).json()["items"]
    assert {p["id"] for p in listed} == set(hw.others)
    shown = client.get(f"{API}/placements?limit=500", headers=headers).json()["items"]
    assert not {p["id"] for p in shown} & set(hw.placements.values())
    assert_error(client.get(f"{API}/placements/{hw.placements['completed']}",
                            headers=headers), 404)


def test_open_placements_block_erasure(engine, world, client, settings) -> None:
    hw = build(world)
    headers = _token_for(world, hw.consultant)
    other = hw.others[0]
    r = client.post(f"{API}/placements", json={"participant_id": other,
                                               "slot_id": hw.slots[5]}, headers=headers)
    assert r.status_code == 201, r.text
    err = assert_error(client.delete(f"{API}/participants/{other}", headers=headers), 409)
    assert "öppna placeringar" in err["message"]
    assert client.get(f"{API}/participants/{other}", headers=headers).status_code == 200
    client.post(f"{API}/placements/{r.json()['id']}/withdraw", headers=headers)
    assert client.delete(f"{API}/participants/{other}", headers=headers).status_code == 204


def test_audit_rows_cannot_be_changed_or_deleted(engine, world, settings) -> None:
    hw = build(world)
    with unit_of_work(world.factory) as session:
        row = session.scalars(select(AuditRow).limit(1)).one()
        row.action = "tampered"
        with pytest.raises(AppendOnlyViolation):
            session.flush()
        session.rollback()
    with unit_of_work(world.factory) as session:
        session.delete(session.scalars(select(AuditRow).limit(1)).one())
        with pytest.raises(AppendOnlyViolation):
            session.flush()
        session.rollback()
    with unit_of_work(world.factory) as session:
        assert _count(session, AuditRow, AuditRow.action == "tampered") == 0
        assert _count(session, AuditRow, AuditRow.subject_id == str(hw.person)) > 0


def test_cli_erase_by_external_id(cli_env: Path) -> None:
    from matchning.config import get_settings
    from matchning.storage.db import engine_from_settings, make_session_factory
    from tests.factories import World

    runner = CliRunner()
    assert runner.invoke(cli_app, ["init-db"]).exit_code == 0
    s = get_settings()
    engine = engine_from_settings(s)
    try:
        hw = build(World(make_session_factory(engine), s))
        refused = runner.invoke(cli_app, ["erase", DISTINCT["external_id"]], input="n\n")
        assert refused.exit_code == 1
        with Session(engine) as session:
            assert session.get(ParticipantRow, hw.person) is not None
        out = runner.invoke(cli_app, ["erase", DISTINCT["external_id"], "--yes"])
        assert out.exit_code == 0, out.output
        assert "raderad" in out.output and "3 placeringar" in out.output
        assert DISTINCT["display_name"] not in out.output
        assert scan_database(engine, needles(s.secret_key), EXACT) == []
        again = runner.invoke(cli_app, ["erase", DISTINCT["external_id"], "--yes"])
        assert again.exit_code == 1 and "finns inte" in again.output
    finally:
        engine.dispose()
