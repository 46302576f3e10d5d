"""Rows that erasure and retention touch.

An erased participant's history lives on under a pseudonym: a participant row with a random
negative id (live participants have positive ids, so the sign alone tells them apart without
a join), status 'raderad' and no personal fields.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from matchning.domain.vocab import ParticipantStatus
from matchning.storage.tables import (
    Base,
    FeedbackRow,
    MonitoringRow,
    ParticipantRow,
    PlacementEventRow,
    PlacementRow,
)

ERASED = "raderad"
# Rows moved to the pseudonym rather than deleted: the history training and statistics use.
KEPT_TABLES = frozenset({PlacementRow.__tablename__, FeedbackRow.__tablename__})


def is_person(participant_id: ColumnElement[int]) -> ColumnElement[bool]:
    """True for a live participant's id, false for a pseudonym's."""
    return participant_id > 0


def new_pseudonym_id(session: Session) -> int:
    """A random negative id no participant row has: nothing about it points back."""
    while True:
        candidate = -(secrets.randbelow(2**31 - 2) + 1)
        if session.get(ParticipantRow, candidate) is None:
            return candidate


def placements_of(session: Session, participant_id: int) -> list[PlacementRow]:
    return list(session.scalars(select(PlacementRow)
                                .where(PlacementRow.participant_id == participant_id)))


def events_of(session: Session, placement_ids: list[int]) -> list[PlacementEventRow]:
    if not placement_ids:
        return []
    return list(session.scalars(select(PlacementEventRow)
                                .where(PlacementEventRow.placement_id.in_(placement_ids))))


def feedback_of(session: Session, participant_id: int) -> list[FeedbackRow]:
    return list(session.scalars(select(FeedbackRow)
                                .where(FeedbackRow.participant_id == participant_id)))


def delete_profile(session: Session, row: ParticipantRow) -> dict[str, int]:
    """Delete the participant row, its monitoring fields and every other row that refers to
    it (derived data such as precomputed suggestions), except the kept history, which must
    already point elsewhere. Returns rows deleted per table."""
    session.flush()
    gone: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in KEPT_TABLES:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == ParticipantRow.__tablename__:
                n = session.execute(delete(table).where(fk.parent == row.id)).rowcount or 0
                if n:
                    gone[table.name] = int(n)
    monitoring = session.get(MonitoringRow, row.id)
    if monitoring is not None:  # deleted above; do not let the session flush it again
        session.expunge(monitoring)
    session.delete(row)
    session.flush()
    return gone


def ended_before(session: Session, cutoff: date, cutoff_at: datetime
                 ) -> list[tuple[int, int, date | None]]:
    """(id, unit id, exit date) of participants ended (avslutad) before `cutoff`, oldest
    first; one ended without an exit date counts from its last change (`cutoff_at`)."""
    ended = ParticipantRow.status == ParticipantStatus.ended.value
    stmt = (select(ParticipantRow.id, ParticipantRow.unit_id, ParticipantRow.exit_date)
            .where(ended, ((ParticipantRow.exit_date < cutoff)
                           | (ParticipantRow.exit_date.is_(None)
                              & (ParticipantRow.updated_at < cutoff_at))))
            .order_by(ParticipantRow.exit_date, ParticipantRow.id))
    return [(int(i), int(u), d) for i, u, d in session.execute(stmt)]
