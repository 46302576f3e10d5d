"""Queries about participants, placements and feedback (always within a unit)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.orm import Session

from matchning.storage.repositories.base import contains
from matchning.storage.repositories.privacy import is_person
from matchning.storage.tables import (
    EmployerRow,
    FeedbackRow,
    MonitoringRow,
    ParticipantRow,
    PlacementEventRow,
    PlacementRow,
    SlotRow,
)


def participants_query(*, unit_id: int | None = None, consultant_id: int | None = None,
                       status: str | None = None, target_group: str | None = None,
                       q: str | None = None) -> Select[tuple[ParticipantRow]]:
    stmt = select(ParticipantRow).where(is_person(ParticipantRow.id)).order_by(ParticipantRow.id)
    if unit_id is not None:
        stmt = stmt.where(ParticipantRow.unit_id == unit_id)
    if consultant_id is not None:
        stmt = stmt.where(ParticipantRow.consultant_id == consultant_id)
    if status:
        stmt = stmt.where(ParticipantRow.status == status)
    if q:
        stmt = stmt.where(contains(ParticipantRow.display_name, q)
                          | contains(ParticipantRow.external_id, q))
    if target_group:
        # JSON list membership without dialect-specific operators: the quoted value in the
        # JSON text, as PostgreSQL prints it (plain) or as SQLite stores it (\u-escaped).
        as_text = cast(ParticipantRow.target_groups, Text)
        stmt = stmt.where(contains(as_text, f'"{target_group}"')
                          | contains(as_text, json.dumps(target_group)))
    return stmt


def participant_by_external_id(session: Session, unit_id: int | None,
                               external_id: str) -> ParticipantRow | None:
    stmt = select(ParticipantRow).where(ParticipantRow.external_id == external_id)
    if unit_id is not None:
        stmt = stmt.where(ParticipantRow.unit_id == unit_id)
    return session.scalars(stmt).first()


def monitoring_of(session: Session, participant_id: int) -> MonitoringRow | None:
    return session.get(MonitoringRow, participant_id)


def placements_query(*, unit_id: int | None = None, employer_id: int | None = None,
                     participant_id: int | None = None, slot_id: int | None = None,
                     status: str | None = None, statuses: tuple[str, ...] | None = None,
                     latest_ended_first: bool = False) -> Select[tuple[PlacementRow]]:
    """The placements in scope, in id order, or the latest ended first (by the day they ended,
    decided or were proposed)."""
    order = (func.coalesce(PlacementRow.ended_on, PlacementRow.decided_on,
                           PlacementRow.proposed_on).desc(), PlacementRow.id.desc()) \
        if latest_ended_first else (PlacementRow.id,)
    stmt = select(PlacementRow).where(is_person(PlacementRow.participant_id)).order_by(*order)
    if unit_id is not None:
        stmt = stmt.join(ParticipantRow, ParticipantRow.id == PlacementRow.participant_id) \
            .where(ParticipantRow.unit_id == unit_id)
    if employer_id is not None:
        stmt = stmt.join(SlotRow, SlotRow.id == PlacementRow.slot_id) \
            .where(SlotRow.employer_id == employer_id)
    if participant_id is not None:
        stmt = stmt.where(PlacementRow.participant_id == participant_id)
    if slot_id is not None:
        stmt = stmt.where(PlacementRow.slot_id == slot_id)
    if status:
        stmt = stmt.where(PlacementRow.status == status)
    if statuses:
        stmt = stmt.where(PlacementRow.status.in_(statuses))
    return stmt


def active_placements_of(session: Session, participant_id: int,
                         statuses: tuple[str, ...]) -> list[PlacementRow]:
    return list(session.scalars(select(PlacementRow).where(
        PlacementRow.participant_id == participant_id, PlacementRow.status.in_(statuses))))


def events_of(session: Session, placement_id: int) -> list[PlacementEventRow]:
    return list(session.scalars(select(PlacementEventRow)
                                .where(PlacementEventRow.placement_id == placement_id)
                                .order_by(PlacementEventRow.id)))


def feedback_query(*, participant_id: int | None = None,
                   unit_id: int | None = None) -> Select[tuple[FeedbackRow]]:
    stmt = select(FeedbackRow).where(is_person(FeedbackRow.participant_id)) \
        .order_by(FeedbackRow.id)
    if participant_id is not None:
        stmt = stmt.where(FeedbackRow.participant_id == participant_id)
    if unit_id is not None:
        stmt = stmt.join(ParticipantRow, ParticipantRow.id == FeedbackRow.participant_id) \
            .where(ParticipantRow.unit_id == unit_id)
    return stmt


def rejected_slot_ids(session: Session, participant_id: int, since: datetime) -> set[int]:
    return set(session.scalars(select(FeedbackRow.slot_id).where(
        FeedbackRow.participant_id == participant_id, FeedbackRow.created_at >= since)))


def slot_with_employer(session: Session, slot_id: int) -> tuple[SlotRow, EmployerRow] | None:
    row = session.execute(select(SlotRow, EmployerRow)
                          .join(EmployerRow, EmployerRow.id == SlotRow.employer_id)
                          .where(SlotRow.id == slot_id)).first()
    return (row[0], row[1]) if row else None


def participants_with_external_id(session: Session, external_id: str,
                                  limit: int = 2) -> list[ParticipantRow]:
    """Participants of any unit with this external id (ids are unique only per unit)."""
    return list(session.scalars(select(ParticipantRow)
                                .where(ParticipantRow.external_id == external_id).limit(limit)))
