"""The period of suggested slots (a suggestion names the slot; the page also shows when it
runs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from matchning.services import access
from matchning.services.context import Context
from matchning.storage.repositories import slot_periods


@dataclass(frozen=True)
class Period:
    start_date: date
    end_date: date | None
    hours_per_week: float | None


def periods(ctx: Context, slot_ids: list[int]) -> dict[int, Period]:
    """{slot id: its period}; slots are shared by all units, so unit staff may see any."""
    access.require_unit_staff(ctx)
    found = slot_periods.periods(ctx.session, sorted(set(slot_ids)))
    return {sid: Period(*values) for sid, values in found.items()}
