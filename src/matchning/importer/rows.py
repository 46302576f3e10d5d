"""One CSV row → a domain record → the service that writes it (units, employers, slots,
participants). Each function returns True when it inserted a row, False when it updated one.

A new employer, slot or participant is validated now and written with the file's other new
rows at its end (`importer.bulk`), unless the file runs one row at a time (`state.bulk` off);
an update goes through the service at once, in a savepoint of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

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

M = TypeVar("M", bound=BaseModel)


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


@dataclass(frozen=True, slots=True)
class Refs:
    """What a row refers to by external id (a unit, a consultant, an employer), looked up in
    the database. The rows other files stored do not change while this one is imported, so a
    row's references depend on its cells alone, never on the rows before it: a big file's are
    looked up ahead of its rows (`importer.parallel`)."""

    ids: dict[str, Any]  # the record's fields, e.g. {"unit_id": 3, "consultant_id": None}
    found: tuple[Any, ...] = ()  # the rows found (None where not found)
    first: tuple[Problem, ...] = ()  # reported before the problems of the row's own id
    then: tuple[Problem, ...] = ()  # reported after them


NO_REFS = Refs({})


def _record(model: type[M], row: CsvRow, state: FileState, ext: str, refs: Refs,
            problems: list[Problem]) -> M | None:
    values = state.values(row, problems)
    return state.validate(model, {**values, "external_id": ext, **refs.ids}, problems)


def _ready_record(model: type[M], row: CsvRow, state: FileState, refs: Refs) -> M | None:
    """The row's record if neither its references, its id, its cells nor the record have a
    problem that depends on the row alone (a repeated id depends on the rows before: the
    caller checks it); else None."""
    ext = row.cells.get("id", "").strip()
    if refs.first or refs.then or not ext:
        return None
    problems: list[Problem] = []
    data = _record(model, row, state, ext, refs, problems)
    return None if problems else data


def employer_refs(ctx: Context, row: CsvRow, state: FileState) -> Refs:
    return NO_REFS


def upsert_employer(ctx: Context, row: CsvRow, state: FileState, refs: Refs = NO_REFS,
                    ready: bulk.Ready | None = None) -> bool:
    """`ready`: the row's pending entries as `plan_employer_ahead` made them (the row then has
    no problem of its own but perhaps a repeated id)."""
    problems: list[Problem] = []
    ext = state.external_id(row, problems)
    data = None if ready is not None else _record(EmployerData, row, state, ext, refs, problems)
    raise_if(problems)
    existing = _known(ctx, state, EmployerRow, ext)
    if existing is None and ready is not None and state.bulk:
        _pending(state, EmployerRow).add(ready)
        return True
    if data is None:  # made ahead: the row is right in itself
        data = _record(EmployerData, row, state, ext, refs, problems)
    assert data is not None
    if existing is None:
        if state.bulk:
            bulk.plan_employer(ctx, data, _pending(state, EmployerRow))
        else:
            employers.create(ctx, data)
        return True
    with ctx.session.begin_nested():
        employers.update(ctx, existing, state.patch(data))
    return False


def plan_employer_ahead(ctx: Context, row: CsvRow, state: FileState, refs: Refs
                        ) -> bulk.Ready | None:
    """What `upsert_employer` adds to the pending rows for the row should it be new, or None
    where the row has a problem of its own (a service's check included)."""
    return _planned(EmployerData, EmployerRow, row, state, refs,
                    lambda data, into: bulk.plan_employer(ctx, data, into))


def _planned(model: type[M], table: type, row: CsvRow, state: FileState, refs: Refs,
             plan: Callable[[M, bulk.Pending], None]) -> bulk.Ready | None:
    """The entries `plan` adds for the row's record, or None where the row has a problem of
    its own (a service's check included)."""
    data = _ready_record(model, row, state, refs)
    if data is None:
        return None
    scratch = bulk.Pending(table)
    plan(data, scratch)
    return scratch.pop()


def slot_refs(ctx: Context, row: CsvRow, state: FileState) -> Refs:
    then: list[Problem] = []
    employer = state.resolve(row, "employer", _stored(ctx, state, EmployerRow),
                             "Arbetsgivaren", "employers.csv", then)
    return Refs({"employer_id": employer.id if employer else 0}, (employer,), (), tuple(then))


def upsert_slot(ctx: Context, row: CsvRow, state: FileState, refs: Refs | None = None,
                ready: bulk.Ready | None = None) -> bool:
    """`refs`: the row's `slot_refs`, if looked up already; `ready`: as for employers."""
    problems: list[Problem] = []
    ext = state.external_id(row, problems)
    refs = refs or slot_refs(ctx, row, state)
    problems.extend(refs.then)
    data = None if ready is not None else _record(SlotData, row, state, ext, refs, problems)
    raise_if(problems)
    existing = _known(ctx, state, SlotRow, ext)
    if existing is None and ready is not None and state.bulk:
        _pending(state, SlotRow).add(ready)
        return True
    if data is None:  # made ahead: the row is right in itself
        data = _record(SlotData, row, state, ext, refs, problems)
    assert data is not None
    if existing is None:
        if state.bulk:
            bulk.plan_slot(ctx, data, _pending(state, SlotRow))
        else:
            slots.create(ctx, data)
        return True
    with ctx.session.begin_nested():
        slots.update(ctx, existing, state.patch(data))
    return False


def plan_slot_ahead(ctx: Context, row: CsvRow, state: FileState, refs: Refs
                    ) -> bulk.Ready | None:
    """As `plan_employer_ahead`, for a slot."""
    return _planned(SlotData, SlotRow, row, state, refs,
                    lambda data, into: bulk.plan_slot(ctx, data, into))


def _consultant(ctx: Context, row: CsvRow, state: FileState, problems: list[Problem]
                ) -> Any:
    email = row.cells.get("consultant", "").strip()
    if not email:
        return None
    user = state.cached("consultant", lambda e: users.user_by_email(ctx.session, e))(email)
    if user is None:
        problems.append(("consultant", f"Det finns ingen användare med e-postadressen "
                                       f"{email!r}."))
    return user


def _case_status(data: ParticipantData, existing: ParticipantRow | None) -> ParticipantStatus:
    """'i praktik' follows the placements: imported started placements set it, so a file's
    'väntande' or 'i praktik' keeps whatever the placements say."""
    waiting, busy = ParticipantStatus.waiting, ParticipantStatus.in_practice
    if data.status not in (waiting, busy):
        return data.status
    return busy if existing is not None and existing.status == busy.value else waiting


def participant_refs(ctx: Context, row: CsvRow, state: FileState) -> Refs:
    first: list[Problem] = []
    unit = state.resolve(
        row, "unit",
        state.cached("unit", lambda e: base.get_by_external_id(ctx.session, UnitRow, e)),
        "Enheten", "units.csv", first)
    then: list[Problem] = []
    consultant = _consultant(ctx, row, state, then)
    return Refs({"unit_id": unit.id if unit else 0,
                 "consultant_id": consultant.id if consultant else None},
                (unit, consultant), tuple(first), tuple(then))


def _with_status(data: ParticipantData, existing: ParticipantRow | None) -> ParticipantData:
    status = _case_status(data, existing)
    return data if status is data.status else data.model_copy(update={"status": status})


def upsert_participant(ctx: Context, row: CsvRow, state: FileState, refs: Refs | None = None,
                       ready: bulk.Ready | None = None) -> bool:
    """`refs`: the row's `participant_refs`, if looked up already; `ready`: as for
    employers."""
    refs = refs or participant_refs(ctx, row, state)
    problems = list(refs.first)
    ext = state.external_id(row, problems, row.cells.get("unit", "").strip())
    problems.extend(refs.then)
    data = None if ready is not None else _record(ParticipantData, row, state, ext, refs, problems)
    raise_if(problems)
    unit_id = refs.ids["unit_id"]
    if state.known is None:
        state.known = bulk.existing_participants(ctx.session)
    known = state.known.get((unit_id, ext))
    existing = ctx.session.get(ParticipantRow, known) if known is not None else None
    if existing is None and ready is not None and state.bulk:
        _pending(state, ParticipantRow).add(ready)
        return True
    if data is None:  # made ahead: the row is right in itself
        data = _record(ParticipantData, row, state, ext, refs, problems)
    assert data is not None
    data = _with_status(data, existing)
    with conflicts_on("status"):  # e.g. ending a participant whose placement is open
        if existing is None:
            if state.bulk:
                bulk.plan_participant(ctx, data, unit_id, _pending(state, ParticipantRow))
            else:
                participants.create(ctx, data)
            return True
        with ctx.session.begin_nested():
            participants.update(ctx, existing.id, state.patch(data))
    return False


def plan_participant_ahead(ctx: Context, row: CsvRow, state: FileState, refs: Refs
                           ) -> bulk.Ready | None:
    """As `plan_employer_ahead`, for a participant."""
    def plan(data: ParticipantData, into: bulk.Pending) -> None:
        with conflicts_on("status"):
            bulk.plan_participant(ctx, _with_status(data, None), refs.ids["unit_id"], into)

    return _planned(ParticipantData, ParticipantRow, row, state, refs, plan)
