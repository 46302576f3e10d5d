"""When listed slots run: their period and hours, for slots named by id."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchning.storage.tables import SlotRow


def periods(session: Session, slot_ids: list[int]
            ) -> dict[int, tuple[date, date | None, float | None]]:
    """{slot id: (start date, end date, hours per week)}."""
    if not slot_ids:
        return {}
    stmt = select(SlotRow.id, SlotRow.start_date, SlotRow.end_date, SlotRow.hours_per_week) \
        .where(SlotRow.id.in_(slot_ids))
    return {sid: (start, end, hours) for sid, start, end, hours in session.execute(stmt)}
