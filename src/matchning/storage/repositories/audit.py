"""The audit log: append-only writes, queries by unit, participant, user and period, and the
only two bulk changes it allows: re-keying a person's rows to their pseudonym at erasure and
the retention purge. Changing or deleting an AuditRow through the ORM raises."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, event, func, insert, select, update
from sqlalchemy.orm import Session

from matchning.storage.tables import AuditRow, ParticipantRow

PARTICIPANT = "participant"


class AppendOnlyViolation(RuntimeError):
    """A bug: code tried to change or delete an audit row outside the two sanctioned paths."""


@event.listens_for(AuditRow, "before_update")
@event.listens_for(AuditRow, "before_delete")
def _refuse_change(_mapper: Any, _connection: Any, target: AuditRow) -> None:
    raise AppendOnlyViolation(f"audit row {target.id} is append-only")


def record(session: Session, *, user_id: int | None, action: str, subject_type: str,
           subject_id: str | int, detail: dict[str, Any] | None = None,
           model_version: str | None = None, unit_id: int | None = None,
           at: datetime | None = None) -> None:
    """Append one row. Who (user 0, the system itself, is stored as none), when, what, about
    whom; the unit is that of the participant when not given."""
    session.add(AuditRow(**_values(session, user_id, action, subject_type, subject_id, detail,
                                   model_version, unit_id, at)))


def record_now(session: Session, *, user_id: int | None, action: str, subject_type: str,
               subject_id: str | int, detail: dict[str, Any] | None = None,
               model_version: str | None = None, unit_id: int | None = None) -> None:
    """As `record`, but inserted at once by one Core INSERT in the session's transaction:
    for the read paths that write a row on every request (suggestions), where the ORM's
    flush of one new object cost more than the statement itself."""
    session.execute(_INSERT, _values(session, user_id, action, subject_type, subject_id,
                                     detail, model_version, unit_id, None))


_INSERT = insert(AuditRow.__table__)


def _values(session: Session, user_id: int | None, action: str, subject_type: str,
            subject_id: str | int, detail: dict[str, Any] | None, model_version: str | None,
            unit_id: int | None, at: datetime | None) -> dict[str, Any]:
    if unit_id is None and subject_type == PARTICIPANT:
        person = session.get(ParticipantRow, int(subject_id))
        unit_id = person.unit_id if person is not None else None
    return {"at": at or datetime.now(UTC), "user_id": user_id or None, "action": action,
            "subject_type": subject_type, "subject_id": str(subject_id),
            "detail": detail or {}, "model_version": model_version, "unit_id": unit_id}


def rows_about(session: Session, subject_type: str, subject_id: str | int) -> list[AuditRow]:
    return list(session.scalars(select(AuditRow).where(
        AuditRow.subject_type == subject_type, AuditRow.subject_id == str(subject_id))
        .order_by(AuditRow.id)))


def query(*, unit_id: int | None = None, participant_id: int | None = None,
          user_id: int | None = None, since: datetime | None = None,
          until: datetime | None = None) -> Select[tuple[AuditRow]]:
    """Rows newest first; `since` inclusive, `until` exclusive."""
    stmt = select(AuditRow).order_by(AuditRow.id.desc())
    if unit_id is not None:
        stmt = stmt.where(AuditRow.unit_id == unit_id)
    if participant_id is not None:
        stmt = stmt.where(AuditRow.subject_type == PARTICIPANT,
                          AuditRow.subject_id == str(participant_id))
    if user_id is not None:
        stmt = stmt.where(AuditRow.user_id == user_id)
    if since is not None:
        stmt = stmt.where(AuditRow.at >= since)
    if until is not None:
        stmt = stmt.where(AuditRow.at < until)
    return stmt


def rekey(session: Session, participant_id: int, pseudonym_id: int) -> int:
    """Point every row about the participant at their pseudonym (erasure); how many."""
    session.flush()
    done = session.execute(
        update(AuditRow.__table__)
        .where(AuditRow.subject_type == PARTICIPANT,
               AuditRow.subject_id == str(participant_id))
        .values(subject_id=str(pseudonym_id)))
    return int(done.rowcount or 0)


def count_before(session: Session, cutoff: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditRow)
                              .where(AuditRow.at < cutoff)) or 0)


def oldest(session: Session) -> datetime | None:
    return session.scalar(select(func.min(AuditRow.at)))


def purge_before(session: Session, cutoff: datetime) -> int:
    """Delete the rows older than `cutoff` (retention); how many."""
    session.flush()
    done = session.execute(delete(AuditRow.__table__).where(AuditRow.at < cutoff))
    return int(done.rowcount or 0)
