"""Queries about employers and slots (shared by all units)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from matchning.domain.vocab import OCCUPYING_STATUSES, SlotStatus
from matchning.storage.repositories import counters
from matchning.storage.repositories.base import contains
from matchning.storage.tables import EmployerRow, PlacementRow, SlotRow


def employers_query(*, q: str | None = None, kommunkod: str | None = None,
                    sector: str | None = None, only_id: int | None = None
                    ) -> Select[tuple[EmployerRow]]:
    stmt = select(EmployerRow).order_by(EmployerRow.id)
    if q:
        stmt = stmt.where(contains(EmployerRow.name, q))
    if kommunkod:
        stmt = stmt.where(EmployerRow.kommunkod == kommunkod)
    if sector:
        stmt = stmt.where(EmployerRow.sector == sector)
    if only_id is not None:
        stmt = stmt.where(EmployerRow.id == only_id)
    return stmt


def occupied_places(slot_ids: list[int] | None = None) -> Select[tuple[int, int]]:
    """(slot_id, places taken) for slots with accepted or started placements."""
    stmt = (select(PlacementRow.slot_id, func.count().label("taken"))
            .where(PlacementRow.status.in_([s.value for s in OCCUPYING_STATUSES]))
            .group_by(PlacementRow.slot_id))
    if slot_ids is not None:
        stmt = stmt.where(PlacementRow.slot_id.in_(slot_ids))
    return stmt


def taken_places(session: Session, slot_ids: list[int]) -> dict[int, int]:
    if not slot_ids:
        return {}
    return {sid: n for sid, n in session.execute(occupied_places(slot_ids))}


def slots_query(*, employer_id: int | None = None, status: str | None = None,
                kommunkod: str | None = None, occupation: str | None = None,
                q: str | None = None, open_on: date | None = None,
                with_free_places: bool = False) -> Select[tuple[SlotRow]]:
    stmt = select(SlotRow).order_by(SlotRow.id)
    if employer_id is not None:
        stmt = stmt.where(SlotRow.employer_id == employer_id)
    if status:
        stmt = stmt.where(SlotRow.status == status)
    if kommunkod:
        stmt = stmt.where(SlotRow.kommunkod == kommunkod)
    if occupation:
        stmt = stmt.where(SlotRow.occupation_code.startswith(occupation))
    if q:
        stmt = stmt.where(contains(SlotRow.title, q))
    if open_on is not None:
        stmt = stmt.where(SlotRow.status == SlotStatus.open.value, SlotRow.start_date <= open_on,
                          (SlotRow.end_date.is_(None)) | (SlotRow.end_date >= open_on))
    if with_free_places:
        taken = occupied_places().subquery()
        stmt = stmt.outerjoin(taken, taken.c.slot_id == SlotRow.id).where(
            SlotRow.capacity > func.coalesce(taken.c.taken, 0))
    return stmt


def lock_slot(session: Session, slot_id: int) -> None:
    """Take the slot's row lock until commit by bumping its version.

    An UPDATE locks the row on PostgreSQL (a second transaction waits, then re-reads) and
    takes SQLite's write lock before we count places, so two consultants can never take the
    last place twice.
    """
    session.execute(update(SlotRow).where(SlotRow.id == slot_id)
                    .values(version=SlotRow.version + 1))
    counters.bump(session, counters.SLOTS)  # the workers' slot caches follow it
