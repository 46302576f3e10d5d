"""New rows written together (importer.bulk) are the rows the services write one by one.

The same files are imported twice, into two databases: as `matchning import` does it (new
employers, slots and participants written together at each file's end, by COPY on PostgreSQL
and executemany on SQLite) and one row at a time through the services' `create` into SQLite.
Every stored column must agree (ids included; timestamps aside), the monitoring and audit rows
too; on PostgreSQL this also holds the two databases' rows equal. A conflict that only the
database sees (a race) makes the file run again row by row, which names the row.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from matchning.importer import bulk, dbwrite, import_directory
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


def _edge_cases(tmp: Path) -> Path:
    """The example with what the generated files never hold: a participant without a commute
    (the unit's default of 40 km applies), one with a personnummer (stored hashed), a
    postcode and no kommunkod, skills written in another case (stored as the JobTech label),
    no monitoring fields, and a slot without start date, coordinates or skills."""
    out = tmp / "edge"
    shutil.copytree(EXAMPLE, out)
    _edit(out / "participants.csv", {"D-3": {"max_commute_km": ""}}, {
        "id": "D-4", "unit": "UMEA", "personnummer": "19121212-1212",
        "display_name": "Örjan Ek", "postcode": "903 26", "swedish_level": "C",
        "skills": " kassavana |enklare MATLAGNINGSKUNSKAPER", "past_work": "9412:1,5"})
    _edit(out / "slots.csv", {}, {
        "id": "S-4", "employer": "AG-1", "title": "Lagerarbete", "occupation_code": "9412",
        "kommunkod": "2480", "capacity": "1"})
    return out


def _edit(path: Path, changes: dict[str, dict[str, str]], extra: dict[str, str]) -> None:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    for r in rows:
        r.update(changes.get(r["id"], {}))
    rows.append({c: extra.get(c, "") for c in header})
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, header)
        out.writeheader()
        out.writerows(rows)


def _rows(factory, table) -> list[tuple]:
    cols = [c for c in table.__table__.columns if c.name not in SKIP]
    with factory() as s:
        return [tuple(r) for r in s.execute(select(*cols).order_by(*table.__table__.primary_key))]


@pytest.fixture
def second(sqlite_template: Path, tmp_path: Path):
    """A second empty database, SQLite (PostgreSQL tests have one schema per process)."""
    path = tmp_path / "second.sqlite3"
    shutil.copyfile(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.mark.parametrize("source", ["example", "edge", "generated"])
def test_rows_written_together_equal_the_services_rows(session_factory, settings, second,
                                                       tmp_path, monkeypatch, source):
    directory = {"example": lambda _: EXAMPLE, "edge": _edge_cases,
                 "generated": _generated}[source](tmp_path)
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
    for table in (UnitRow, EmployerRow, SlotRow, ParticipantRow, MonitoringRow, AuditRow):
        assert _rows(session_factory, table) == _rows(one_by_one, table), table.__tablename__
    # A missing counter reads as 0 (the PostgreSQL tests' emptying drops the seeded rows).
    assert [r for r in _rows(session_factory, ChangeCounterRow) if r[-1]] == \
        [r for r in _rows(one_by_one, ChangeCounterRow) if r[-1]]


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


def test_a_conflict_in_the_database_is_an_integrity_error_without_the_rows_data(
        session_factory, settings):
    assert import_directory(session_factory, EXAMPLE, settings).ok
    with session_factory() as s:
        stored = s.scalars(select(EmployerRow).order_by(EmployerRow.id)).first()
        again = {c.key: getattr(stored, c.key) for c in EmployerRow.__table__.columns
                 if c.key not in ("id", "created_at", "updated_at")}
        again["name"] = "Hemliga Namnet AB"  # the same external id: a unique violation
        with pytest.raises(IntegrityError) as caught:
            dbwrite.insert_rows(s, EmployerRow.__table__, [again])
        # PostgreSQL's own text names the key's value, and for other errors the row's cells.
        assert stored.external_id not in str(caught.value)
        assert "Hemliga" not in str(caught.value)
        s.rollback()
        assert s.scalars(select(EmployerRow.name)).all().count("Hemliga Namnet AB") == 0


def _line_of(directory: Path, ext: str) -> int:
    from matchning.importer.csvread import read_table

    return next(r.line for r in read_table(directory / "slots.csv").rows
                if r.cells["id"] == ext)
