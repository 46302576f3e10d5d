"""Importing a directory: the known files in dependency order, one transaction per file.

A file with any bad row is rolled back as a whole; every bad row is still reported. A later
file that refers to ids of a file that was not stored reports those rows as errors too.
New employers, slots and participants are written together at the file's end
(`importer.bulk`); should that meet a conflict in the database, the file is imported again
one row at a time, each in a savepoint, so the rows at fault are named. A big file's rows are
checked in a second process while this one writes (`importer.parallel`), to the same rows
and the same report.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.errors import MatchningError
from matchning.importer import bulk, parallel
from matchning.importer import columns as cols
from matchning.importer.csvread import CsvFileError, CsvRow, read_table
from matchning.importer.history import sync_participants, upsert_placement
from matchning.importer.problems import Problem, RowProblems, from_domain, from_validation
from matchning.importer.report import FileReport, ImportReport, RowError
from matchning.importer.rows import (
    Refs,
    employer_refs,
    participant_refs,
    plan_employer_ahead,
    plan_participant_ahead,
    plan_slot_ahead,
    slot_refs,
    upsert_employer,
    upsert_participant,
    upsert_slot,
    upsert_unit,
)
from matchning.importer.state import FileState, file_reference
from matchning.reference import get_reference
from matchning.services.context import Context
from matchning.storage.repositories import counters


@dataclass(frozen=True)
class FileKind:
    name: str
    columns: tuple[cols.Column, ...]
    upsert: Callable[..., bool]  # (ctx, row, state[, refs, ready]) → True: inserted
    finish: Callable[[Context, FileState], None] | None = None
    bulk: bool = False  # new rows wait for the end (the upsert opens its own savepoints)
    # A big file's rows checked in a second process (`importer.parallel`): a row's
    # references, and its entries should it be new.
    refs: parallel.RefsOf | None = None
    plan: parallel.PlanAhead | None = None


def _write_pending(ctx: Context, state: FileState) -> None:
    if state.pending is not None:
        bulk.write(ctx, state.pending)


FILES = (
    FileKind("units.csv", cols.UNIT_COLUMNS, upsert_unit),
    FileKind("employers.csv", cols.EMPLOYER_COLUMNS, upsert_employer, _write_pending, True,
             employer_refs, plan_employer_ahead),
    FileKind("slots.csv", cols.SLOT_COLUMNS, upsert_slot, _write_pending, True,
             slot_refs, plan_slot_ahead),
    FileKind("participants.csv", cols.PARTICIPANT_COLUMNS, upsert_participant, _write_pending,
             True, participant_refs, plan_participant_ahead),
    FileKind("placements.csv", cols.PLACEMENT_COLUMNS, upsert_placement, sync_participants),
)
KNOWN = tuple(k.name for k in FILES)
CONFLICT = "Raden krockar med något som redan finns sparat (t.ex. samma namn eller id)."


def import_directory(session_factory: sessionmaker[Session], directory: Path,
                     settings: Settings) -> ImportReport:
    """Import the known CSV files of `directory`; see docs/import.md for the formats."""
    present = {p.name: p for p in sorted(directory.iterdir())
               if p.is_file() and p.suffix.lower() == ".csv"}
    report = ImportReport()
    for name in present:
        if name not in KNOWN:
            report.files.append(FileReport(name, errors=[RowError(
                0, "", "Okänd fil; den importeras inte. Kända filer: " + ", ".join(KNOWN) + ".")]))
    failed: set[str] = set()
    for kind in FILES:
        if kind.name in present:
            with _collector_paused():
                result = _import_file(session_factory, settings, kind, present[kind.name],
                                      failed)
            report.files.append(result)
            if not result.stored:
                failed.add(kind.name)
    if not report.files:
        report.files.append(FileReport(directory.name, errors=[RowError(
            0, "", "Katalogen innehåller ingen CSV-fil att importera (" + ", ".join(KNOWN)
            + ").")]))
    return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while one file is imported. The rows read and the
    rows waiting to be written (two million objects at 400,000 participants) live until the
    file's end, and each full collection went through all of them again: a tenth of the CPU
    of a large file. A file's import makes next to no cyclic garbage; what there is is
    collected after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _import_file(factory: sessionmaker[Session], settings: Settings, kind: FileKind, path: Path,
                 failed: set[str], *, together: bool = True) -> FileReport:
    report = FileReport(kind.name)
    try:
        table = read_table(path)
    except CsvFileError as exc:
        report.errors.append(exc.error)
        return report
    report.rows = table.row_count
    report.errors.extend(cols.check_header(kind.columns, table.header))
    if report.errors:
        return report
    report.errors.extend(table.bad_rows)
    state = FileState(kind.columns, table.header, failed, bulk=kind.bulk and together)
    with factory() as session:
        ctx = Context(session=session, principal=SYSTEM, settings=settings,
                      ref=file_reference(get_reference()))
        # Change counters move once per file, not once per row (see counters.deferred).
        with counters.deferred(session):
            inserted, updated = _import_rows(ctx, kind, table.rows, state, report)
            if not report.errors and kind.finish is not None:
                try:
                    kind.finish(ctx, state)
                except IntegrityError:
                    if not state.bulk:
                        raise
                    session.rollback()  # a row conflicts after all: find it row by row
                    return _import_file(factory, settings, kind, path, failed,
                                        together=False)
        if report.errors:
            session.rollback()
            report.errors.sort(key=lambda e: e.line)
            return report
        session.commit()
    report.stored, report.inserted, report.updated = True, inserted, updated
    return report


def _import_rows(ctx: Context, kind: FileKind, table_rows: list[CsvRow], state: FileState,
                 report: FileReport) -> tuple[int, int]:
    """The rows in order, their problems into `report`; (inserted, updated). A big file's
    are checked ahead in a second process, and its new rows written as they come."""
    ahead = None
    if (state.bulk and kind.refs is not None and kind.plan is not None
            and parallel.wanted(ctx.settings, len(table_rows))):
        ahead = parallel.Ahead(ctx, table_rows, state, kind.refs, kind.plan)
    chunks = ahead.chunks() if ahead is not None else [
        ((row, None, None) for row in table_rows)]
    inserted = updated = 0
    try:
        for chunk in chunks:
            for row, refs, ready in chunk:
                outcome, problems = _import_row(ctx, kind, row, state, refs, ready)
                report.errors.extend(RowError(row.line, c, m) for c, m in problems)
                inserted += outcome is True
                updated += outcome is False
            if ahead is not None and state.pending is not None and not report.errors:
                bulk.write_ahead(ctx, state.pending)  # a file with errors is not stored
    finally:
        if ahead is not None:
            ahead.close()
    return inserted, updated


def _import_row(ctx: Context, kind: FileKind, row: CsvRow, state: FileState,
                refs: Refs | None = None, ready: bulk.Ready | None = None
                ) -> tuple[bool | None, list[Problem]]:
    """(inserted?, problems); a savepoint keeps a bad row from affecting the rows after it
    (a file written together opens one only where a row writes at once: its updates).
    `refs` and `ready`: what `importer.parallel` found for the row ahead of it."""
    try:
        if refs is not None:
            return kind.upsert(ctx, row, state, refs, ready), []
        if state.bulk:
            return kind.upsert(ctx, row, state), []
        with ctx.session.begin_nested():
            return kind.upsert(ctx, row, state), []
    except RowProblems as exc:
        return None, exc.problems
    except ValidationError as exc:
        return None, from_validation(kind.columns, exc)
    except MatchningError as exc:
        return None, from_domain(kind.columns, exc)
    except IntegrityError:
        return None, [("", CONFLICT)]
