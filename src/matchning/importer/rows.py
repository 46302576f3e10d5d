"""One CSV row → a domain record → the service that writes it (units, employers, slots,
participants). Each function returns True when it inserted a row, False when it updated one."""

from __future__ import annotations

from matchning.domain.records import EmployerData, ParticipantData, SlotData, UnitData
from matchning.domain.vocab import ParticipantStatus
from matchning.importer.columns import UNIT_SETTINGS
from matchning.importer.csvread import CsvRow
from matchning.importer.problems import Problem, conflicts_on, raise_if
from matchning.importer.state import FileState
from matchning.services import employers, participants, slots, units
from matchning.services.context import Context
from matchning.storage.repositories import base, people, users
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


def upsert_employer(ctx: Context, row: CsvRow, state: FileState) -> bool:
    problems: list[Problem] = []
    ext = state.external_id(row, problems)
    values = state.values(row, problems)
    data = state.validate(EmployerData, {**values, "external_id": ext}, problems)
    raise_if(problems)
    assert data is not None
    existing = base.get_by_external_id(ctx.session, EmployerRow, ext)
    if existing is None:
        employers.create(ctx, data)
        return True
    employers.update(ctx, existing.id, state.patch(data))
    return False


def upsert_slot(ctx: Context, row: CsvRow, state: FileState) -> bool:
    problems: list[Problem] = []
    ext = state.external_id(row, problems)
    employer = state.resolve(
        row, "employer", lambda e: base.get_by_external_id(ctx.session, EmployerRow, e),
        "Arbetsgivaren", "employers.csv", problems)
    values = state.values(row, problems)
    data = state.validate(SlotData, {**values, "external_id": ext,
                                     "employer_id": employer.id if employer else 0}, problems)
    raise_if(problems)
    assert data is not None
    existing = base.get_by_external_id(ctx.session, SlotRow, ext)
    if existing is None:
        slots.create(ctx, data)
        return True
    slots.update(ctx, existing.id, state.patch(data))
    return False


def _consultant_id(ctx: Context, row: CsvRow, problems: list[Problem]) -> int | None:
    email = row.cells.get("consultant", "").strip()
    if not email:
        return None
    user = users.user_by_email(ctx.session, email)
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
        row, "unit", lambda e: base.get_by_external_id(ctx.session, UnitRow, e),
        "Enheten", "units.csv", problems)
    ext = state.external_id(row, problems, row.cells.get("unit", "").strip())
    consultant_id = _consultant_id(ctx, row, problems)
    values = state.values(row, problems)
    data = state.validate(ParticipantData, {**values, "external_id": ext, "unit_id":
                                            unit.id if unit else 0,
                                            "consultant_id": consultant_id}, problems)
    raise_if(problems)
    assert data is not None and unit is not None
    existing = people.participant_by_external_id(ctx.session, unit.id, ext)
    data = data.model_copy(update={"status": _case_status(data, existing)})
    with conflicts_on("status"):  # e.g. ending a participant whose placement is open
        if existing is None:
            participants.create(ctx, data)
            return True
        participants.update(ctx, existing.id, state.patch(data))
    return False
