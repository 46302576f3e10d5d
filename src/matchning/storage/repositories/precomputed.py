"""The precomputed top-k lists (`matchning precompute`): replace them, read them, count them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from matchning.domain.vocab import ParticipantStatus
from matchning.storage.repositories.base import insert_batched
from matchning.storage.tables import ParticipantRow, PrecomputedSuggestionRow

T = PrecomputedSuggestionRow
# Rows per INSERT statement: bounded memory and well under SQLite's bound-parameter limit.
WRITE_BATCH = 2_000


@dataclass(frozen=True)
class StoredSuggestion:
    slot_id: int
    rank: int
    score: float
    distance_km: float | None
    model_version: str
    computed_at: datetime


def delete_unit(session: Session, unit_id: int) -> int:
    """Drop every stored list of the unit (also of participants no longer waiting)."""
    return session.execute(delete(T).where(T.unit_id == unit_id)).rowcount or 0


def delete_participants(session: Session, participant_ids: Sequence[int]) -> int:
    """Drop the participants' stored lists whatever unit they were computed under (a
    participant who moved unit keeps no list from the old one)."""
    if not participant_ids:
        return 0
    return session.execute(
        delete(T).where(T.participant_id.in_(participant_ids))).rowcount or 0


def insert_rows(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Add list rows (the columns of PrecomputedSuggestionRow) in a few bulk statements."""
    return insert_batched(session, T, rows, batch_size=WRITE_BATCH)


def lists_for_unit(session: Session, unit_id: int, *, waiting_only: bool = True
                   ) -> dict[int, list[StoredSuggestion]]:
    """Participant id -> the stored list, best first. By default only participants still
    waiting in the unit: someone placed or moved since the run has no use for the list."""
    stmt = (select(T.participant_id, T.slot_id, T.rank, T.score, T.distance_km,
                   T.model_version, T.computed_at)
            .where(T.unit_id == unit_id)
            .order_by(T.participant_id, T.rank))
    if waiting_only:
        stmt = stmt.join(ParticipantRow, ParticipantRow.id == T.participant_id).where(
            ParticipantRow.unit_id == unit_id,
            ParticipantRow.status == ParticipantStatus.waiting.value)
    out: dict[int, list[StoredSuggestion]] = {}
    for pid, *rest in session.execute(stmt):
        out.setdefault(pid, []).append(StoredSuggestion(*rest))
    return out


def top_counts(session: Session, unit_id: int, *, top: int = 3,
               slot_ids: Sequence[int] | None = None,
               exclude_participant_id: int | None = None) -> dict[int, int]:
    """Slot id -> how many of the unit's waiting participants have the slot among the first
    `top` of their stored list ("7 andra väntande deltagare har den bland sina tre bästa":
    pass the participant being looked at as `exclude_participant_id`). Slots no one has are
    absent."""
    stmt = (select(T.slot_id, func.count(T.participant_id.distinct()))
            .join(ParticipantRow, ParticipantRow.id == T.participant_id)
            .where(T.unit_id == unit_id, T.rank <= top, ParticipantRow.unit_id == unit_id,
                   ParticipantRow.status == ParticipantStatus.waiting.value)
            .group_by(T.slot_id))
    if slot_ids is not None:
        stmt = stmt.where(T.slot_id.in_(slot_ids))
    if exclude_participant_id is not None:
        stmt = stmt.where(T.participant_id != exclude_participant_id)
    return {int(sid): int(n) for sid, n in session.execute(stmt)}
