"""New rows written together (importer.bulk) are the rows the services write one by one.

The same files are imported twice, into two databases: as `matchning import` does it (new
employers, slots and participants written together at each file's end) and one row at a time
through the services' `create`. Every stored column must agree (ids included; timestamps
aside), the monitoring and audit rows too. A conflict that only the database sees (a race)
makes the file run again row by row, which names the row.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from matchning.importer import bulk, import_directory
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

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "import-example"
SKIP = {"created_at", "updated_at", "at"}  # clocks differ between the two imports


def _generated(tmp: Path) -> Path:
    """A small demo world in the import format, by the import benchmark's own writer."""
    spec = importlib.util.spec_from_file_location("import_speed",
                                                  ROOT / "benchmarks" / "import_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = type("Args", (), {"participants": 120, "employers": 25, "slots": 60, "units": 2,
                             "seed": 5})()
    out = tmp / "generated"
    out.mkdir()
    module.write_world(out, args)
    return out


def _rows(factory, table) -> list[tuple]:
    cols = [c for c in table.__table__.columns if c.name not in SKIP]
    with factory() as s:
        return [tuple(r) for r in s.execute(select(*cols).order_by(*table.__table__.primary_key))]


@pytest.fixture
def second(request: pytest.FixtureRequest, tmp_path: Path, engine):
    """A second empty database of the same backend as `engine`."""
    if engine.dialect.name == "sqlite":
        path = tmp_path / "second.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        pytest.skip("one PostgreSQL schema per test process: compared on SQLite only")


@pytest.mark.parametrize("source", ["example", "generated"])
def test_rows_written_together_equal_the_services_rows(session_factory, settings, second,
                                                       tmp_path, monkeypatch, source):
    directory = EXAMPLE if source == "example" else _generated(tmp_path)
    one_by_one = make_session_factory(second)
    together = import_directory(session_factory, directory, settings)
    assert together.ok, together
    monkeypatch.setattr(runner_module, "FILES", tuple(
        runner_module.FileKind(k.name, k.columns, k.upsert, k.finish, False)
        for k in runner_module.FILES))
    plain = import_directory(one_by_one, directory, settings)
    assert plain.ok, plain
    assert [(f.inserted, f.updated) for f in together.files] == \
        [(f.inserted, f.updated) for f in plain.files]
    for table in (UnitRow, EmployerRow, SlotRow, ParticipantRow, MonitoringRow, AuditRow,
                  ChangeCounterRow):
        assert _rows(session_factory, table) == _rows(one_by_one, table), table.__tablename__


def test_a_conflict_only_the_database_sees_is_named_row_by_row(session_factory, settings,
                                                               tmp_path, monkeypatch):
    assert import_directory(session_factory, EXAMPLE, settings).ok
    # As if another writer had stored S-2 after the file began: the ids read at the start
    # miss it, so the rows written together collide with it.
    real = bulk.existing_ids
    monkeypatch.setattr(bulk, "existing_ids", lambda session, table: {
        k: v for k, v in real(session, table).items() if k != "S-2"})
    slots = tmp_path / "again"
    slots.mkdir()
    shutil.copy(EXAMPLE / "slots.csv", slots / "slots.csv")
    report = import_directory(session_factory, slots, settings)
    result = report.files[0]
    assert not result.stored
    assert [(e.line, e.column) for e in result.errors] == [(_line_of(slots, "S-2"), "")]
    with session_factory() as s:
        assert len(s.scalars(select(SlotRow)).all()) == 3


def _line_of(directory: Path, ext: str) -> int:
    from matchning.importer.csvread import read_table

    return next(r.line for r in read_table(directory / "slots.csv").rows
                if r.cells["id"] == ext)
