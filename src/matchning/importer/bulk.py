"""New rows of a file, checked row by row and written together at the end.

A new employer, slot or participant is validated exactly as its service's `create` validates
it (the service's own `validate`, and its own `_apply` mapping the record onto a row), but it
is not flushed one by one: the file's new rows go in together (`importer.dbwrite`: COPY on
PostgreSQL, executemany on SQLite), and a new participant's monitoring row and audit row follow
the same way. A file with any bad row is not stored anyway, so nothing is lost by writing
late; a database conflict at the end (a race with another writer) makes the runner import the
file again one row at a time, with the services, to name the rows. `tests/test_import_bulk.py`
holds the rows written here equal to the rows the services write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matchning.domain.records import MONITORING_FIELDS, EmployerData, ParticipantData, SlotData
from matchning.importer import dbwrite
from matchning.services import employers, participants, slots
from matchning.services.context import Context
from matchning.storage.repositories import audit, counters
from matchning.storage.tables import (
    AuditRow,
    EmployerRow,
    MonitoringRow,
    ParticipantRow,
    SlotRow,
)

BATCH = 20_000  # rows per COPY or executemany
AHEAD = 4_000  # rows written ahead together (`write_ahead`): small, so writing starts early

# One row's entries in `Pending`: its values, and for a participant its monitoring fields
# and unit (None for the other tables).
Ready = tuple[dict[str, Any], dict[str, Any] | None, int | None]


@dataclass
class Pending:
    """Rows validated and waiting for the file's end, with what each needs afterwards."""

    table: type
    values: list[dict[str, Any]] = field(default_factory=list)
    monitoring: list[dict[str, Any]] = field(default_factory=list)  # participants only
    units: list[int] = field(default_factory=list)                  # participants only
    written: int = 0  # the first rows of `values`, inserted ahead by `write_ahead`
    ahead: bool = True  # `write_ahead` may insert (off after a conflict)

    def add(self, ready: Ready) -> None:
        """A row's entries, as `pop` took them from another `Pending`."""
        values, monitoring, unit = ready
        self.values.append(values)
        if unit is not None:
            assert monitoring is not None
            self.monitoring.append(monitoring)
            self.units.append(unit)

    def pop(self) -> Ready:
        """The last row's entries, taken out."""
        if self.units:
            return self.values.pop(), self.monitoring.pop(), self.units.pop()
        return self.values.pop(), None, None


class _Row:
    """Stands in for a new table row while a service's `_apply` fills it: plain attributes
    (an ORM object tracks each of its ~40 assignments at some cost), and, as on an ORM
    object, only the columns given go into the INSERT (the others keep their defaults).
    The values live in the instance's own `__dict__`, so an assignment costs no Python call."""

    _columns: frozenset[str] = frozenset()  # of the table: see `_row_class`

    def __getattr__(self, name: str) -> Any:  # only for an attribute not given yet
        if name in self._columns:  # None, as on a new ORM object
            return None
        raise AttributeError(name)


@cache
def _row_class(table: type) -> type[_Row]:
    columns = frozenset(c.key for c in table.__table__.columns)
    return type(f"_{table.__name__}", (_Row,), {"_columns": columns})


def _new_row(table: type, **given: Any) -> _Row:
    row = _row_class(table)()
    row.__dict__.update(given)
    return row


def _values(row: _Row) -> dict[str, Any]:
    return dict(row.__dict__)


def plan_employer(ctx: Context, data: EmployerData, pending: Pending) -> None:
    """employers.create without the flush."""
    employers.validate(ctx, data)
    row = _new_row(EmployerRow)
    employers._apply(row, data)  # type: ignore[arg-type]
    pending.values.append(_values(row))


def plan_slot(ctx: Context, data: SlotData, pending: Pending) -> None:
    """slots.create without the flush (the importer acts as the system: no owner check)."""
    slots.validate(ctx, data)
    row = _new_row(SlotRow, created_by=ctx.principal.user_id or None, version=1)
    slots._apply(ctx, row, data)  # type: ignore[arg-type]
    pending.values.append(_values(row))


def plan_participant(ctx: Context, data: ParticipantData, unit_id: int,
                     pending: Pending) -> None:
    """participants.create without the flush: the same checks and mapping; the monitoring
    fields sent and the audit row are written with the row."""
    derived = participants.validate(ctx, data, unit_id)
    if "max_commute_km" not in data.model_fields_set:  # the unit's default, as in create
        data = data.model_copy(update={
            "max_commute_km": participants.default_commute_km(ctx, unit_id)})
    row = _new_row(ParticipantRow, unit_id=unit_id, version=1)
    participants._apply(ctx, row, data, derived)  # type: ignore[arg-type]
    pending.values.append(_values(row))
    sent = data.model_fields_set & set(MONITORING_FIELDS)
    pending.monitoring.append({name: getattr(data, name) for name in MONITORING_FIELDS
                               if name in sent})
    pending.units.append(unit_id)


class _AuditRows:
    """Collects the rows `audit.record` adds (it stays the one place that shapes an audit
    row), to insert them together: the ORM would insert them one by one to learn each id."""

    def __init__(self) -> None:
        self.rows: list[AuditRow] = []

    def add(self, row: AuditRow) -> None:
        self.rows.append(row)


def _audit_values(ctx: Context, ids: list[int], units: list[int]) -> list[dict[str, Any]]:
    """The "participant.create" audit row of each new participant: one shaped by
    `audit.record` per unit, the participant's id put in (the rows differ in nothing else;
    they share the time of the write)."""
    collected = _AuditRows()
    for unit_id in dict.fromkeys(units):
        audit.record(collected, user_id=ctx.principal.user_id,  # type: ignore[arg-type]
                     action="participant.create", subject_type="participant",
                     subject_id=0, unit_id=unit_id)
    keys = [c.key for c in AuditRow.__table__.columns if c.key != "id"]
    shaped = {r.unit_id: {k: getattr(r, k) for k in keys} for r in collected.rows}
    return [{**shaped[unit_id], "subject_id": str(pid)}
            for pid, unit_id in zip(ids, units, strict=True)]


def write(ctx: Context, pending: Pending) -> None:
    """Insert the pending rows; participants get their monitoring and audit rows and one
    bump of their unit's counter."""
    session = ctx.session
    _insert(session, pending.table, pending.values[pending.written:])
    if pending.table is not ParticipantRow:
        return
    # The new ids by (unit, external id), unique and always given in a file: one read
    # (neither COPY nor executemany hands back the new ids).
    found = existing_participants(session)
    ids = [found[(v["unit_id"], v["external_id"])] for v in pending.values]
    _insert(session, MonitoringRow, [{"participant_id": pid, **m}
                                     for pid, m in zip(ids, pending.monitoring, strict=True)
                                     if m])
    _insert(session, AuditRow, _audit_values(ctx, ids, pending.units))
    for unit_id in sorted(set(pending.units)):
        counters.bump(session, counters.participants_of(unit_id))


def write_ahead(ctx: Context, pending: Pending) -> None:
    """Insert the table's pending rows so far, once there are `AHEAD` of them, while the
    file's later rows are still being checked (`importer.parallel`: the writing then overlaps
    the checking); their monitoring and audit rows, which need the new ids, follow at the end
    (`write`). In a savepoint: should a row conflict with one stored (only a race with another
    writer can do that), the rows wait for the file's end after all, where the conflict makes
    the runner import the file again row by row, naming the row, as without this."""
    if not pending.ahead or len(pending.values) - pending.written < AHEAD:
        return
    try:
        with ctx.session.begin_nested():
            _insert(ctx.session, pending.table, pending.values[pending.written:])
    except IntegrityError:
        pending.ahead = False
        return
    pending.written = len(pending.values)


def _insert(session: Session, table: type, rows: list[dict[str, Any]]) -> None:
    """In batches, through the session's connection (`importer.dbwrite`: COPY on
    PostgreSQL, executemany on SQLite)."""
    for start in range(0, len(rows), BATCH):
        dbwrite.insert_rows(session, table.__table__, rows[start:start + BATCH])


def existing_ids(session: Session, table: type) -> dict[str, int]:
    """external id -> id of the table's rows that have one (one query per file)."""
    return {e: i for e, i in session.execute(
        select(table.external_id, table.id).where(table.external_id.is_not(None)))}


def stored_by_external_id(session: Session, table: type) -> dict[str, Any]:
    """external id -> row of the table's rows that have one (one query per file)."""
    return {r.external_id: r for r in session.scalars(
        select(table).where(table.external_id.is_not(None)))}


def existing_participants(session: Session) -> dict[tuple[int, str], int]:
    """(unit id, external id) -> id of every participant that has an external id."""
    return {(u, e): i for u, e, i in session.execute(
        select(ParticipantRow.unit_id, ParticipantRow.external_id, ParticipantRow.id)
        .where(ParticipantRow.external_id.is_not(None)))}
