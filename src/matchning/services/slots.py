"""Slots (praktikplatser). Employers post their own; consultants may post on their behalf."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matchning.domain import validation
from matchning.domain.records import SlotData
from matchning.domain.vocab import Role
from matchning.errors import Conflict, Forbidden, InvalidInput
from matchning.services import access
from matchning.services.context import Context
from matchning.storage.repositories import base, catalog
from matchning.storage.tables import EmployerRow, SlotRow

FIELDS = tuple(SlotData.model_fields)
_read = operator.attrgetter(*FIELDS)


@dataclass
class SlotView:
    """A slot with what is derived from other rows."""

    row: SlotRow
    employer_name: str
    remaining_places: int
    occupation_label: str


def validate(ctx: Context, data: SlotData) -> None:
    problems = (
        validation.check_occupation(ctx.ref, "occupation_code", data.occupation_code)
        + validation.check_kommun(ctx.ref, "kommunkod", data.kommunkod)
        + validation.check_licences("driving_licences", data.driving_licences)
        + validation.check_coordinates("lat", data.lat, data.lon)
        + validation.check_period(data.start_date, data.end_date)
    )
    if ctx.session.get(EmployerRow, data.employer_id) is None:
        problems.append({"field": "employer_id", "message": "Arbetsgivaren finns inte."})
    if problems:
        raise InvalidInput(details=problems)


def _check_owner(ctx: Context, employer_id: int) -> None:
    p = ctx.principal
    if p.role is Role.employer and not p.owns_employer(employer_id):
        raise Forbidden("Du kan bara lägga upp praktikplatser för din egen arbetsgivare.")


def _apply(ctx: Context, row: SlotRow, data: SlotData) -> None:
    values = dict(zip(FIELDS, _read(data), strict=True))  # as they are (no model_dump copy)
    values["start_date"] = data.start_date or row.start_date or ctx.today
    values["required_skills"] = [ctx.ref.canonical_skill(s) for s in data.required_skills]
    values["nice_skills"] = [ctx.ref.canonical_skill(s) for s in data.nice_skills]
    for name in FIELDS:
        setattr(row, name, values[name])


def create(ctx: Context, data: SlotData) -> SlotRow:
    _check_owner(ctx, data.employer_id)
    validate(ctx, data)
    row = SlotRow(created_by=ctx.principal.user_id or None, version=1)
    _apply(ctx, row, data)
    ctx.session.add(row)
    ctx.session.flush()
    return row


def as_data(row: SlotRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FIELDS}


def update(ctx: Context, slot_id: int, patch: dict[str, Any]) -> SlotRow:
    row = access.slot_for_read(ctx, slot_id)
    # Lock first (and bump the change counter): no place is taken while the slot changes.
    catalog.lock_slot(ctx.session, row.id)
    ctx.session.refresh(row)
    data = SlotData.model_validate({**as_data(row), **patch})
    _check_owner(ctx, data.employer_id)
    validate(ctx, data)
    if data.capacity < row.capacity:
        taken = catalog.taken_places(ctx.session, [row.id]).get(row.id, 0)
        if data.capacity < taken:
            raise Conflict(f"Platsen har {taken} upptagna platser; kapaciteten kan inte bli "
                           f"lägre än så.", details=[{"field": "capacity",
                                                      "message": f"minst {taken}"}])
    _apply(ctx, row, data)
    ctx.session.flush()
    return row


def view(ctx: Context, rows: Sequence[SlotRow]) -> list[SlotView]:
    taken = catalog.taken_places(ctx.session, [r.id for r in rows])
    names = {e.id: e.name for e in (ctx.session.get(EmployerRow, i)
                                     for i in {r.employer_id for r in rows}) if e}
    return [SlotView(row=r, employer_name=names.get(r.employer_id, ""),
                     remaining_places=max(r.capacity - taken.get(r.id, 0), 0),
                     occupation_label=ctx.ref.occupation_label(r.occupation_code) or "")
            for r in rows]


def get(ctx: Context, slot_id: int) -> SlotView:
    return view(ctx, [access.slot_for_read(ctx, slot_id)])[0]


def list_slots(ctx: Context, limit: int, offset: int, *, employer_id: int | None = None,
               status: str | None = None, kommunkod: str | None = None,
               occupation: str | None = None, q: str | None = None,
               with_free_places: bool = False) -> tuple[list[SlotView], int]:
    p = ctx.principal
    if p.role is Role.employer:
        if employer_id is not None and employer_id != p.employer_id:
            raise Forbidden("Du kan bara se dina egna praktikplatser.")
        employer_id = p.employer_id
    stmt = catalog.slots_query(employer_id=employer_id, status=status, kommunkod=kommunkod,
                               occupation=occupation, q=q, with_free_places=with_free_places)
    rows, total = base.page(ctx.session, stmt, limit, offset)
    return view(ctx, rows), total
