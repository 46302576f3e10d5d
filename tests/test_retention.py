"""Retention on a frozen clock (2026-11-01): participants ended more than 24 months ago are
erased like on request, with a dry run first; audit rows older than 12 months are purged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from matchning.cli import app as cli_app
from matchning.domain.placement_flow import Action
from matchning.domain.principal import SYSTEM, Principal
from matchning.domain.vocab import Role
from matchning.errors import Forbidden
from matchning.jobs.scheduler import privacy_job
from matchning.services import audit as audit_service
from matchning.services import placements, retention
from matchning.services.context import Context
from matchning.storage.db import unit_of_work
from matchning.storage.repositories import audit
from matchning.storage.repositories.privacy import ERASED
from matchning.storage.tables import AuditRow, ParticipantRow, PlacementRow
from tests.conftest import DEMO_TODAY
from tests.helpers_api import quick_user

pytestmark = pytest.mark.usefixtures("frozen_day")

CUTOFF = date(2024, 11, 1)  # DEMO_TODAY minus 24 months: ended before this day is due


def _ctx(session, settings, principal=SYSTEM) -> Context:
    return Context(session=session, principal=principal, settings=settings)


def _ended(world, unit: int, exit_date: date, name: str) -> int:
    return world.participant(unit, display_name=name, status="avslutad", exit_date=exit_date,
                             exit_outcome="arbete", enrolled_on=date(2022, 1, 10))


@pytest.fixture
def people(world) -> dict[str, int]:
    unit = world.unit(name="AME Retention")
    employer = world.employer()
    slot = world.slot(employer, capacity=5, start_date=date(2022, 1, 1))
    ids = {
        "outside": _ended(world, unit, CUTOFF - timedelta(days=1), "Utanför Gränsen"),
        "on_cutoff": _ended(world, unit, CUTOFF, "Precis Innanför"),
        "inside": _ended(world, unit, CUTOFF + timedelta(days=1), "Klart Innanför"),
        "waiting": world.participant(unit, display_name="Väntar Fortfarande",
                                     enrolled_on=date(2020, 1, 1)),
        "with_history": world.participant(unit, display_name="Har Historik"),
        "open": world.participant(unit, display_name="Har Öppen Placering"),
    }
    staff = Principal(quick_user(world, Role.consultant, unit_id=unit).user_id, "k@x.se",
                      Role.consultant, unit_id=unit)
    with unit_of_work(world.factory) as session:
        ctx = _ctx(session, world.settings, staff)
        done = placements.propose(ctx, ids["with_history"], slot).row.id
        for action in ("accept", "start", "complete"):
            placements.transition(ctx, done, Action(action))
        placements.propose(ctx, ids["open"], slot)
    with unit_of_work(world.factory) as session:  # ended long ago, the way imports leave it
        for key in ("with_history", "open"):
            row = session.get(ParticipantRow, ids[key])
            row.status, row.exit_date, row.exit_outcome = "avslutad", date(2023, 5, 1), "arbete"
    ids["slot_placement"] = done
    return ids


def test_months_before_clamps_to_the_month() -> None:
    assert retention.months_before(date(2026, 11, 1), 24) == CUTOFF
    assert retention.months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert retention.months_before(date(2024, 2, 29), 12) == date(2023, 2, 28)
    assert retention.months_before(date(2026, 1, 15), 13) == date(2024, 12, 15)


def test_dry_run_reports_and_changes_nothing(world, people, settings) -> None:
    with unit_of_work(world.factory) as session:
        report = retention.run(_ctx(session, settings), dry_run=True)
    assert report.cutoff == CUTOFF
    assert {d.participant_id for d in report.due} == {
        people["outside"], people["with_history"], people["open"]}
    assert {d.exit_date for d in report.due} == {CUTOFF - timedelta(days=1), date(2023, 5, 1)}
    assert report.erased == [] and report.skipped == []
    with unit_of_work(world.factory) as session:
        for key in ("outside", "with_history", "open"):
            assert session.get(ParticipantRow, people[key]) is not None


def test_run_erases_just_outside_and_keeps_just_inside(world, people, settings) -> None:
    with unit_of_work(world.factory) as session:
        report = retention.run(_ctx(session, settings))
    assert {d.participant_id for d in report.erased} == {people["outside"],
                                                         people["with_history"]}
    assert [(d.participant_id, "öppna placeringar" in why) for d, why in report.skipped] == [
        (people["open"], True)]
    with unit_of_work(world.factory) as session:
        for key in ("outside", "with_history"):
            assert session.get(ParticipantRow, people[key]) is None
        for key in ("on_cutoff", "inside", "waiting", "open"):
            assert session.get(ParticipantRow, people[key]) is not None
        kept = session.get(PlacementRow, people["slot_placement"])
        assert kept is not None and kept.participant_id < 0 and kept.status == "completed"
        pseudonym = session.get(ParticipantRow, kept.participant_id)
        assert pseudonym.status == ERASED and pseudonym.display_name == ""
        assert pseudonym.exit_outcome == "arbete" and pseudonym.exit_date == date(2023, 1, 1)
        erasures = session.scalars(select(AuditRow).where(
            AuditRow.action == "participant.erase")).all()
        assert len(erasures) == 2
        assert all(r.user_id is None and r.detail["reason"] == "retention" for r in erasures)
        # A second run finds nobody new.
        again = retention.run(_ctx(session, settings))
        assert [d.participant_id for d in again.due] == [people["open"]]


def test_only_the_system_runs_retention_and_purges(world, settings) -> None:
    admin = Principal(1, "a@x.se", Role.system_admin)
    with unit_of_work(world.factory) as session:
        with pytest.raises(Forbidden):
            retention.run(_ctx(session, settings, admin), dry_run=True)
        with pytest.raises(Forbidden):
            audit_service.purge(_ctx(session, settings, admin), dry_run=True)


def _audit_at(session, at: datetime, action: str) -> None:
    audit.record(session, user_id=7, action=action, subject_type="participant",
                 subject_id=1, unit_id=1, at=at)


def test_audit_purge_boundary(world, settings) -> None:
    cutoff = datetime(2025, 11, 1, tzinfo=UTC)  # DEMO_TODAY minus 12 months, midnight UTC
    with unit_of_work(world.factory) as session:
        _audit_at(session, cutoff - timedelta(seconds=1), "old")
        _audit_at(session, cutoff, "kept.edge")
        _audit_at(session, cutoff + timedelta(days=40), "kept.recent")
    with unit_of_work(world.factory) as session:
        dry = audit_service.purge(_ctx(session, settings), dry_run=True)
        assert (dry.cutoff, dry.rows, dry.dry_run) == (cutoff, 1, True)
    with unit_of_work(world.factory) as session:
        assert session.scalar(select(func.count()).select_from(AuditRow)
                              .where(AuditRow.action == "old")) == 1
        done = audit_service.purge(_ctx(session, settings))
        assert done.rows == 1
    with unit_of_work(world.factory) as session:
        actions = set(session.scalars(select(AuditRow.action)))
        assert "old" not in actions and {"kept.edge", "kept.recent", "audit.purge"} <= actions


def test_scheduled_privacy_job_does_both(world, people, settings) -> None:
    with unit_of_work(world.factory) as session:
        _audit_at(session, datetime(2024, 1, 1, tzinfo=UTC), "old")
    privacy_job(world.factory, settings)
    with unit_of_work(world.factory) as session:
        assert session.get(ParticipantRow, people["outside"]) is None
        assert session.get(ParticipantRow, people["inside"]) is not None
        actions = list(session.scalars(select(AuditRow.action)))
        assert "old" not in actions and "audit.purge" in actions


def test_cli_retention_dry_run_prints_ids_and_dates_only(cli_env: Path, world_cli) -> None:
    runner = CliRunner()
    out = runner.invoke(cli_app, ["retention", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert f"id {world_cli['outside']}" in out.output
    assert str(CUTOFF - timedelta(days=1)) in out.output and "Torrkörning" in out.output
    assert "Utanför" not in out.output and "Gränsen" not in out.output
    real = runner.invoke(cli_app, ["retention"])
    assert real.exit_code == 0 and "1 raderade" in real.output, real.output
    purge = runner.invoke(cli_app, ["audit", "purge", "--dry-run"])
    assert purge.exit_code == 0 and "skulle tas bort" in purge.output, purge.output


@pytest.fixture
def world_cli(cli_env: Path) -> dict[str, int]:
    from matchning.config import get_settings
    from matchning.storage.db import engine_from_settings, make_session_factory
    from tests.factories import World

    assert CliRunner().invoke(cli_app, ["init-db"]).exit_code == 0
    s = get_settings()
    engine = engine_from_settings(s)
    try:
        w = World(make_session_factory(engine), s)
        unit = w.unit(name="AME CLI")
        return {"outside": _ended(w, unit, CUTOFF - timedelta(days=1), "Utanför Gränsen"),
                "inside": _ended(w, unit, CUTOFF, "Precis Innanför")}
    finally:
        engine.dispose()


def test_frozen_clock_is_in_force(settings) -> None:
    assert Context(session=None, principal=SYSTEM, settings=settings).today == DEMO_TODAY  # type: ignore[arg-type]
