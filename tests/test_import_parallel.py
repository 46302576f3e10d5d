"""A big file checked in a second process (`importer.parallel`) gives what one process gives:
the same rows, column for column, and the same report (problems, lines, order).

Each case imports the same files into two databases: the test's, with the second process
forced (from one row on, three rows per message, new rows written ahead two at a time, so
that repeated ids and updates fall in other messages and batches than their first row), and a
second SQLite database in one process. On PostgreSQL this also holds COPY's rows written ahead
equal to SQLite's.
"""

from __future__ import annotations

import csv
import os
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from matchning.config import Settings
from matchning.domain.vocab import Role
from matchning.importer import bulk, import_directory, parallel, rows
from matchning.importer import runner as runner_module
from matchning.storage.db import make_engine, make_session_factory
from matchning.storage.tables import (
    AuditRow,
    ChangeCounterRow,
    EmployerRow,
    MonitoringRow,
    ParticipantRow,
    SlotRow,
    UnitRow,
)
from tests.factories import World
from tests.test_import_bulk import EXAMPLE, _edge_cases, _generated, _line_of, _rows

BULK = ("employers.csv", "slots.csv", "participants.csv")
TABLES = (UnitRow, EmployerRow, SlotRow, ParticipantRow, MonitoringRow, AuditRow)


@pytest.fixture
def second(sqlite_template: Path, tmp_path: Path):
    path = tmp_path / "second.sqlite3"
    shutil.copyfile(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield make_session_factory(eng)
    eng.dispose()


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Small messages and batches; counts the files checked in a second process ([0]) and
    the new rows the worker made ([1]). The test runner may hold threads of its own (the check
    refuses to fork then): they are not counted here, the test of `wanted` below holds the
    check itself."""
    monkeypatch.setattr(parallel, "CHUNK", 3)
    monkeypatch.setattr(bulk, "BATCH", 2)
    monkeypatch.setattr(bulk, "AHEAD", 2)
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1)
    count = [0, 0]
    real, add = parallel.Ahead.__init__, bulk.Pending.add

    def counted(self, *args, **kwargs):
        count[0] += 1
        real(self, *args, **kwargs)

    def added(self, ready):
        count[1] += 1
        add(self, ready)
    monkeypatch.setattr(parallel.Ahead, "__init__", counted)
    monkeypatch.setattr(bulk.Pending, "add", added)
    return count


def _two(settings: Settings) -> tuple[Settings, Settings]:
    return (settings.model_copy(update={"import_parallel_rows": 1}),
            settings.model_copy(update={"import_parallel_rows": 0}))


def _same(factory, other) -> None:
    for table in TABLES:
        assert _rows(factory, table) == _rows(other, table), table.__tablename__
    # A missing counter reads as 0 (the PostgreSQL tests' emptying drops the seeded rows).
    assert [r for r in _rows(factory, ChangeCounterRow) if r[-1]] == \
        [r for r in _rows(other, ChangeCounterRow) if r[-1]]


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], records: list[dict[str, str]],
           raw: str = "") -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, header, restval="")
        out.writeheader()
        out.writerows(records)
        f.write(raw)


@pytest.mark.parametrize("source", ["example", "edge", "generated"])
def test_the_second_process_stores_the_rows_one_process_stores(
        session_factory, settings, second, used, tmp_path, source):
    directory = {"example": lambda _: EXAMPLE, "edge": _edge_cases,
                 "generated": _generated}[source](tmp_path)
    forked, alone = _two(settings)
    report = import_directory(session_factory, directory, forked)
    assert report.ok, report
    new = sum(f.inserted for f in report.files if f.file in BULK)
    assert used == [3, new]  # every new row made by the worker
    assert import_directory(second, directory, alone) == report
    _same(session_factory, second)


def _seeded(factories, settings: Settings, tmp_path: Path) -> tuple[Path, str]:
    """The generated world stored in each database (one process), and a consultant of the
    first unit, the same in both."""
    directory = _generated(tmp_path)
    _, alone = _two(settings)
    _, units = _read(directory / "units.csv")
    for factory in factories:
        assert import_directory(factory, directory, alone).ok
        with factory() as s:
            unit_id = s.scalar(select(UnitRow.id).where(UnitRow.external_id == units[0]["id"]))
        World(factory, settings).user(Role.consultant, unit_id=unit_id,
                                      email="konsulent@example.se")
    return directory, units[0]["id"]


def _changed(directory: Path, out: Path, unit: str, *, bad: bool) -> Path:
    """The files again: rows changed (updates) and new rows; with `bad`, rows with every kind
    of problem among them, repeated ids several rows (messages) after their first row."""
    out.mkdir()
    header, employers = _read(directory / "employers.csv")
    employers[0]["name"] += " (ny)"
    employers += [{**employers[1], "id": "NE-1", "name": "Ny AB"},
                  {**employers[2], "id": "NE-2", "name": "Nyare AB"}]
    if bad:
        employers += [{**employers[3], "id": "NE-3", "orgnr": "123"},
                      *({**employers[4], "id": f"NE-F{i}", "name": f"F{i} AB"} for i in range(5)),
                      {**employers[5], "id": "NE-1", "name": "Igen AB"}]
    _write(out / "employers.csv", header, employers)

    header, slots = _read(directory / "slots.csv")
    slots[0]["title"] = "Ny titel"
    slots += [{**slots[2], "id": f"NS-{i}", "employer": "NE-2" if i == 1 else slots[2]["employer"]}
              for i in range(1, 9)]
    raw = ""
    if bad:
        slots[1]["employer"] = "AG-INGEN"
        slots[3]["capacity"] = "0"
        slots += [{**slots[4], "id": "NS-2"},
                  {**slots[5], "id": "NS-X", "start_date": "2026-02-30"}]
        raw = "NS-Y,för,få,värden\n"
    _write(out / "slots.csv", header, slots, raw)

    header, people = _read(directory / "participants.csv")
    header = [*header[:2], "consultant", *header[2:]]
    mine = [p for p in people if p["unit"] == unit]
    for p in mine[:6]:
        p["display_name"] += " Ny"
        p["consultant"] = "konsulent@example.se"
    people += [{**p, "id": f"NY-{i}", "consultant": "konsulent@example.se" if i % 2 else ""}
               for i, p in enumerate(mine[6:16])]
    if bad:
        people[1]["consultant"] = "ingen@example.se"
        people[2]["enrolled_on"] = "2020-13-01"
        template = mine[7]
        people += [
            {**template, "id": "NY-3"},  # repeated, rows (messages) after its first
            {**template, "id": "NZ-1", "unit": "ENHET-INGEN"},
            {**template, "id": "NZ-2", "kommunkod": "9999", "postcode": ""},
            {**template, "id": "NZ-3", "status": "avslutad", "exit_outcome": ""},
            {**template, "id": "NZ-4", "display_name": ""},
            {**template, "id": "NZ-5", "past_work": "9412"},
            {**template, "id": "", "swedish_level": "Z"},
            {**template, "id": "NZ-6", "consultant": "ingen@example.se", "birth_year": "1800"},
            {**template, "id": "NY-4", "unit": "ENHET-INGEN"},
        ]
        raw = "NZ-7,för,få\n"
    _write(out / "participants.csv", header, people, raw)
    return out


@pytest.mark.parametrize("bad", [False, True], ids=["updates", "problems"])
def test_updates_and_problems_are_what_one_process_makes_of_them(
        session_factory, settings, second, used, tmp_path, bad):
    directory, unit = _seeded((session_factory, second), settings, tmp_path)
    changed = _changed(directory, tmp_path / "changed", unit, bad=bad)
    forked, alone = _two(settings)
    report = import_directory(session_factory, changed, forked)
    assert used[0] == 3
    assert import_directory(second, changed, alone) == report
    if bad:
        assert [f.stored for f in report.files] == [False, False, False]
        # Each kind of problem: in the cells, the record, the service's checks, references,
        # repeated ids (several messages after the first), rows of the wrong width.
        assert [len(f.errors) for f in report.files] == [2, 6, 14], report
    else:
        assert report.ok, report
        assert used[1] == sum(f.inserted for f in report.files if f.file in BULK)
        before = [len(_read(directory / f.file)[1]) for f in report.files]
        assert [(f.inserted, f.updated) for f in report.files] == \
            [(f.rows - n, n) for f, n in zip(report.files, before, strict=True)]
    _same(session_factory, second)


def test_a_worker_that_dies_leaves_its_rows_to_the_main_process(
        session_factory, settings, second, used, tmp_path, monkeypatch):
    directory = _generated(tmp_path)
    main = os.getpid()

    def dying(ctx, row, state, refs):
        if row.line == 40 and os.getpid() != main:
            os._exit(3)  # as if killed: nothing after this row arrives
        return rows.plan_participant_ahead(ctx, row, state, refs)
    monkeypatch.setattr(runner_module, "FILES", tuple(
        replace(k, plan=dying) if k.name == "participants.csv" else k
        for k in runner_module.FILES))
    forked, alone = _two(settings)
    report = import_directory(session_factory, directory, forked)
    assert report.ok, report
    assert import_directory(second, directory, alone) == report
    _same(session_factory, second)


def test_the_main_process_makes_the_last_rows_while_it_waits(
        session_factory, settings, second, used, tmp_path, monkeypatch):
    directory = _generated(tmp_path)
    main = os.getpid()

    def slow(ctx, row, state, refs):
        if os.getpid() != main:
            time.sleep(0.005)
        return rows.plan_participant_ahead(ctx, row, state, refs)
    monkeypatch.setattr(runner_module, "FILES", tuple(
        replace(k, plan=slow) if k.name == "participants.csv" else k
        for k in runner_module.FILES))
    made = []
    real = parallel.Ahead._make

    def making(self, index):
        made.append((len(self.rows), index))
        return real(self, index)
    monkeypatch.setattr(parallel.Ahead, "_make", making)
    forked, alone = _two(settings)
    report = import_directory(session_factory, directory, forked)
    assert report.ok, report
    size = report.files[-1].rows
    chunks = -(-size // parallel.CHUNK)
    mine = [index for rows_, index in made if rows_ == size]
    # The worker is slow: this process made most chunks, from the last one backwards.
    assert mine == list(range(chunks - 1, chunks - 1 - len(mine), -1))
    assert len(mine) > chunks // 2
    assert used[1] == sum(f.inserted for f in report.files if f.file in BULK)
    assert import_directory(second, directory, alone) == report
    _same(session_factory, second)


def test_a_conflict_in_rows_written_ahead_is_named_row_by_row(
        session_factory, settings, used, tmp_path, monkeypatch):
    forked, _ = _two(settings)
    assert import_directory(session_factory, EXAMPLE, forked).ok
    # As in test_import_bulk: another writer stored S-2 after the file began. The rows
    # written ahead collide with it; they wait for the file's end, where the conflict makes
    # the file run again row by row.
    real = bulk.existing_ids
    monkeypatch.setattr(bulk, "existing_ids", lambda session, table: {
        k: v for k, v in real(session, table).items() if k != "S-2"})
    monkeypatch.setattr(bulk, "AHEAD", 1)  # S-2 is the one new row
    ahead = []
    real_ahead = bulk.write_ahead

    def writing(ctx, pending):
        real_ahead(ctx, pending)
        ahead.append(pending.ahead)
    monkeypatch.setattr(bulk, "write_ahead", writing)
    slots = tmp_path / "again"
    slots.mkdir()
    shutil.copy(EXAMPLE / "slots.csv", slots / "slots.csv")
    result = import_directory(session_factory, slots, forked).files[0]
    assert ahead == [False]  # the conflict came when writing ahead
    assert not result.stored
    assert [(e.line, e.column) for e in result.errors] == [(_line_of(slots, "S-2"), "")]
    with session_factory() as s:
        assert len(s.scalars(select(SlotRow)).all()) == 3


def test_only_a_big_file_of_a_process_without_threads_is_forked(settings):
    at = settings.model_copy(update={"import_parallel_rows": 100})
    assert parallel.wanted(at, 100) is (threading.active_count() == 1)
    assert not parallel.wanted(at, 99)
    assert not parallel.wanted(settings.model_copy(update={"import_parallel_rows": 0}), 10**6)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not parallel.wanted(at, 10**6)  # forking a threaded process is not safe
    finally:
        stop.set()
        other.join()
