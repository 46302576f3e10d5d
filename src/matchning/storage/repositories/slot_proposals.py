"""Counts of the proposals that wait for an employer's answer, per slot."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchning.domain.vocab import PlacementStatus
from matchning.storage.repositories.privacy import is_person
from matchning.storage.tables import PlacementRow, SlotRow


def waiting_counts(session: Session, slot_ids: list[int], employer_id: int | None = None
                   ) -> dict[int, int]:
    """{slot id: proposed placements}, for the given slots (of one employer, when given)."""
    if not slot_ids:
        return {}
    stmt = (select(PlacementRow.slot_id, func.count())
            .where(PlacementRow.slot_id.in_(slot_ids),
                   PlacementRow.status == PlacementStatus.proposed.value,
                   is_person(PlacementRow.participant_id))
            .group_by(PlacementRow.slot_id))
    if employer_id is not None:
        stmt = stmt.join(SlotRow, SlotRow.id == PlacementRow.slot_id) \
            .where(SlotRow.employer_id == employer_id)
    return {sid: n for sid, n in session.execute(stmt)}
