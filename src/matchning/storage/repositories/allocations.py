"""Allocation plans and their pairs (`matchning allocate`): store, read, decide."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchning.storage.repositories.base import insert_batched
from matchning.storage.tables import (
    AllocationPairRow,
    AllocationPlanRow,
    EmployerRow,
    ParticipantRow,
    SlotRow,
)

WRITE_BATCH = 2_000


def add_plan(session: Session, **columns: Any) -> AllocationPlanRow:
    row = AllocationPlanRow(**columns)
    session.add(row)
    session.flush()
    return row


def add_pairs(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert pair rows (the columns of AllocationPairRow) in a few bulk statements."""
    return insert_batched(session, AllocationPairRow, rows, batch_size=WRITE_BATCH)


def plan(session: Session, plan_id: int) -> AllocationPlanRow | None:
    return session.get(AllocationPlanRow, plan_id)


def latest_plan(session: Session, unit_id: int) -> AllocationPlanRow | None:
    return session.scalars(select(AllocationPlanRow)
                           .where(AllocationPlanRow.unit_id == unit_id)
                           .order_by(AllocationPlanRow.id.desc()).limit(1)).first()


def plans_of_unit(session: Session, unit_id: int, limit: int = 20) -> Sequence[AllocationPlanRow]:
    return session.scalars(select(AllocationPlanRow)
                           .where(AllocationPlanRow.unit_id == unit_id)
                           .order_by(AllocationPlanRow.id.desc()).limit(limit)).all()


def pair_rows(session: Session, plan_id: int) -> list[tuple[AllocationPairRow, str, str, str]]:
    """The plan's pairs with the participant's display name, the slot's title and the
    employer's name, best score first."""
    stmt = (select(AllocationPairRow, ParticipantRow.display_name, SlotRow.title,
                   EmployerRow.name)
            .join(ParticipantRow, ParticipantRow.id == AllocationPairRow.participant_id)
            .join(SlotRow, SlotRow.id == AllocationPairRow.slot_id)
            .join(EmployerRow, EmployerRow.id == SlotRow.employer_id)
            .where(AllocationPairRow.plan_id == plan_id)
            .order_by(AllocationPairRow.score.desc(), AllocationPairRow.id))
    return [(p, n, t, e) for p, n, t, e in session.execute(stmt)]


def pair_of(session: Session, plan_id: int, participant_id: int) -> AllocationPairRow | None:
    return session.scalars(select(AllocationPairRow).where(
        AllocationPairRow.plan_id == plan_id,
        AllocationPairRow.participant_id == participant_id)).first()


def pairs_of_participant(session: Session, participant_id: int, limit: int | None = 5
                         ) -> list[tuple[AllocationPairRow, AllocationPlanRow, str, str]]:
    """The participant's pairs in the latest plans (all with limit None), newest plan first,
    with slot title and employer name."""
    stmt = (select(AllocationPairRow, AllocationPlanRow, SlotRow.title, EmployerRow.name)
            .join(AllocationPlanRow, AllocationPlanRow.id == AllocationPairRow.plan_id)
            .join(SlotRow, SlotRow.id == AllocationPairRow.slot_id)
            .join(EmployerRow, EmployerRow.id == SlotRow.employer_id)
            .where(AllocationPairRow.participant_id == participant_id)
            .order_by(AllocationPlanRow.id.desc()).limit(limit))
    return [(a, p, t, e) for a, p, t, e in session.execute(stmt)]
