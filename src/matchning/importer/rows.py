"""One CSV row → a domain record → the service that writes it (units, employers, slots,
participants). Each function returns True when it inserted a row, False when it updated one.

A new employer, slot or participant is validated now and written with the file's other new
rows at its end (`importer.bulk`), unless the file runs one row at a time (`state.bulk` off);
an update goes through the service at once, in a savepoint of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matchning.domain.records import EmployerData, ParticipantData, SlotData, UnitData
from matchning.domain.vocab import ParticipantStatus
from matchning.importer import bulk
from matchning.importer.columns import UNIT_SETTINGS
from matchning.importer.csvread import CsvRow
from matchning.importer.problems import Problem, conflicts_on, raise_if
from matchning.importer.state import FileState
from matchning.services import employers, participants, slots, units
from matchning.services.context import Context
from matchning.storage.repositories import base, users
from matchning.storage.tables import EmployerRow, ParticipantRow, SlotRow, UnitRow


def upsert_unit(ctx: Context, row: CsvRow, state: FileState) -> bool:
    problems: list[Problem] = []
    ext = state.external_id(row, problems)
    values = state.values(row, problems)
    settings = {k: values.pop(k) for k in UNIT_SETTINGS if k in values}
    data = state.validate(UnitData, {**values, "settings": settings, "external_id": ext},
                          problems)
    raise_if(problems)
    assert data is not None
    existing = base.get_by_external_id(ctx.session, UnitRow, ext)
    with conflicts_on("name"):  # another unit has the name
        if existing is None:
            units.create(ctx, data)
            return True
        units.update(ctx, existing.id, {"name": data.name, "kommuner": data.kommuner,
                                        "external_id": ext, "settings": settings})
    return False


def _known(ctx: Context, state: FileState, table: type, ext: str) -> int | None:
    """The id of the stored row with this external id (all loaded at the file's first row)."""
    if state.known is None:
        state.known = bulk.existing_ids(ctx.session, table)
    return state.known.get(ext)


def _stored(ctx: Context, state: FileState, table: type) -> Callable[[str], Any]:
    """Finds a stored row by its external id; all are loaded at the file's first row: one
    query, not one per id referred to (a slot file refers to thousands of employers), and the
    rows stay in the session for the service's own look-up of them."""
    key = ("stored", table.__tablename__)
    if key not in state.memo:
        state.memo[key] = bulk.stored_by_external_id(ctx.session, table)
    return state.memo[key].get


def _pending(state: FileState, table: type) -> bulk.Pending:
    if state.pending is None:
        state.pending = bulk.Pending(table)
    return state.pending


def upsert_employer(ctx: Context, row: CsvRow, state: FileState) -> bool:
    problems: list[Problem] = []
    ext = state.external_id(row, problems)
    values = state.values(row, problems)
    data = state.validate(EmployerData, {**values, "external_id": ext}, problems)
    raise_if(problems)
    assert data is not None
    existing = _known(ctx, state, EmployerRow, ext)
    if existing is None:
        if state.bulk:
            bulk.plan_employer(ctx, data, _pending(state, EmployerRow))
        else:
            employers.create(ctx, data)
        return True
    with ctx.session.begin_nested():
        employers.update(ctx, existing, state.patch(data))
    return False


def upsert_slot(ctx: Context, row: CsvRow, state: FileState) -> bool:
    problems: list[Problem] = []
    ext = state.external_id(row, problems)
    employer = state.resolve(row, "employer", _stored(ctx, state, EmployerRow),
                             "Arbetsgivaren", "employers.csv", problems)
    values = state.values(row, problems)
    data = state.validate(SlotData, {**values, "external_id": ext,
                                     "employer_id": employer.id if employer else 0}, problems)
    raise_if(problems)
    assert data is not None
    existing = _known(ctx, state, SlotRow, ext)
    if existing is None:
        if state.bulk:
            bulk.plan_slot(ctx, data, _pending(state, SlotRow))
        else:
            slots.create(ctx, data)
        return True
    with ctx.session.begin_nested():
        slots.update(ctx, existing, state.patch(data))
    return False


def _consultant_id(ctx: Context, row: CsvRow, state: FileState, problems: list[Problem]
                   ) -> int | None:
    email = row.cells.get("consultant", "").strip()
    if not email:
        return None
    user = state.cached("consultant", lambda e: users.user_by_email(ctx.session, e))(email)
    if user is None:
        problems.append(("consultant", f"Det finns ingen användare med e-postadressen "
                                       f"{email!r}."))
        return None
    return user.id


def _case_status(data: ParticipantData, existing: ParticipantRow | None) -> ParticipantStatus:
    """'i praktik' follows the placements: imported started placements set it, so a file's
    'väntande' or 'i praktik' keeps whatever the placements say."""
    waiting, busy = ParticipantStatus.waiting, ParticipantStatus.in_practice
    if data.status not in (waiting, busy):
        return data.status
    return busy if existing is not None and existing.status == busy.value else waiting


def upsert_participant(ctx: Context, row: CsvRow, state: FileState) -> bool:
    problems: list[Problem] = []
    unit = state.resolve(
        row, "unit",
        state.cached("unit", lambda e: base.get_by_external_id(ctx.session, UnitRow, e)),
        "Enheten", "units.csv", problems)
    ext = state.external_id(row, problems, row.cells.get("unit", "").strip())
    consultant_id = _consultant_id(ctx, row, state, problems)
    values = state.values(row, problems)
    data = state.validate(ParticipantData, {**values, "external_id": ext, "unit_id":
                                            unit.id if unit else 0,
                                            "consultant_id": consultant_id}, problems)
    raise_if(problems)
    assert data is not None and unit is not None
    if state.known is None:
        state.known = bulk.existing_participants(ctx.session)
    known = state.known.get((unit.id, ext))
    existing = ctx.session.get(ParticipantRow, known) if known is not None else None
    status = _case_status(data, existing)
    if status is not data.status:
        data = data.model_copy(update={"status": status})
    with conflicts_on("status"):  # e.g. ending a participant whose placement is open
        if existing is None:
            if state.bulk:
                bulk.plan_participant(ctx, data, unit.id, _pending(state, ParticipantRow))
            else:
                participants.create(ctx, data)
            return True
        with ctx.session.begin_nested():
            participants.update(ctx, existing.id, state.patch(data))
    return False
