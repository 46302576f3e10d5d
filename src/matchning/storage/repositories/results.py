"""Queries behind the unit reports: the unit's participants and placements as plain facts, the
consultants' names, the employers that offer slots. No ORM objects: plain rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchning.domain.results import PersonFact, PlacementFact
from matchning.domain.vocab import SlotStatus
from matchning.storage.repositories.privacy import is_person
from matchning.storage.tables import EmployerRow, ParticipantRow, PlacementRow, SlotRow, UserRow

P = ParticipantRow


def person_facts(session: Session, unit_id: int) -> list[PersonFact]:
    """Every live participant of the unit (pseudonyms of erased people are left out: their
    dates are kept to the year only)."""
    stmt = (select(P.id, P.enrolled_on, P.exit_outcome, P.exit_date, P.kommunkod,
                   P.consultant_id, P.target_groups, P.wished_occupations)
            .where(P.unit_id == unit_id, is_person(P.id)).order_by(P.id))
    return [PersonFact(id=i, enrolled_on=enrolled, exit_outcome=outcome, exit_date=exit_day,
                       kommunkod=kommun, consultant_id=consultant,
                       target_groups=tuple(groups or ()),
                       occupation=(wished or [None])[0])
            for i, enrolled, outcome, exit_day, kommun, consultant, groups, wished
            in session.execute(stmt)]


def placement_facts(session: Session, unit_id: int) -> list[PlacementFact]:
    """Every placement of the unit's participants, the erased ones' pseudonyms included
    (their placement history is kept for statistics)."""
    pl = PlacementRow
    stmt = (select(pl.participant_id, pl.status, pl.proposed_on, pl.decided_on, pl.started_on,
                   pl.ended_on, pl.abort_reason, pl.outcome, SlotRow.occupation_code)
            .join(P, P.id == pl.participant_id).join(SlotRow, SlotRow.id == pl.slot_id)
            .where(P.unit_id == unit_id).order_by(pl.id))
    return [PlacementFact(*row) for row in session.execute(stmt)]


def user_names(session: Session, ids: list[int]) -> dict[int, str]:
    """User id -> display name (or e-mail when the name is empty)."""
    if not ids:
        return {}
    stmt = select(UserRow.id, UserRow.display_name, UserRow.email).where(UserRow.id.in_(ids))
    return {i: (name or email) for i, name, email in session.execute(stmt)}


def live_slots_with_employer(session: Session) -> list[dict[str, Any]]:
    """Open and paused slots with their employer's name and contact details: who already
    offers slots (the gap analysis's call list)."""
    stmt = (select(SlotRow.id, SlotRow.title, SlotRow.occupation_code, SlotRow.kommunkod,
                   SlotRow.lat, SlotRow.lon, SlotRow.capacity, SlotRow.status,
                   EmployerRow.id, EmployerRow.name, EmployerRow.kommunkod,
                   EmployerRow.contact_name, EmployerRow.contact_phone,
                   EmployerRow.contact_email)
            .join(EmployerRow, EmployerRow.id == SlotRow.employer_id)
            .where(SlotRow.status.in_((SlotStatus.open.value, SlotStatus.paused.value)))
            .order_by(SlotRow.id))
    keys = ("id", "title", "occupation_code", "kommunkod", "lat", "lon", "capacity", "status",
            "employer_id", "employer_name", "employer_kommunkod", "contact_name",
            "contact_phone", "contact_email")
    return [dict(zip(keys, row, strict=True)) for row in session.execute(stmt)]
