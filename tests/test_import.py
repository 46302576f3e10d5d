"""`matchning import DIR`: the example directory, re-import, every kind of bad row (reported with
line and column, nothing of the file stored), broken files, and the CLI end to end."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from matchning.cli import app as cli_app
from matchning.config import get_settings
from matchning.domain.vocab import Role
from matchning.importer import ImportReport, import_directory
from matchning.importer.cells import CellError, parse_bool, parse_date, parse_list
from matchning.importer.runner import FILES
from matchning.storage import migrate
from matchning.storage.db import make_engine, make_session_factory
from matchning.storage.tables import (
    Base,
    EmployerRow,
    ParticipantRow,
    PlacementEventRow,
    PlacementRow,
    SlotRow,
    UnitRow,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "import-example"
DOCS = ROOT / "docs" / "import.md"


# --- helpers -----------------------------------------------------------------------------------

def run(session_factory, settings, directory: Path) -> ImportReport:
    return import_directory(session_factory, directory, settings)


def write(directory: Path, name: str, text: str | bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def file_report(report: ImportReport, name: str):
    return next(f for f in report.files if f.file == name)


def where(report: ImportReport, name: str) -> dict[tuple[int, str], str]:
    return {(e.line, e.column): e.message for e in file_report(report, name).errors}


def counts(session_factory) -> dict[str, int]:
    with session_factory() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t))
                for t in (UnitRow, EmployerRow, SlotRow, ParticipantRow, PlacementRow,
                          PlacementEventRow)}


def db_state(session_factory) -> dict[str, list[str]]:
    """Every row of every table: compared before and after a failed import."""
    with session_factory() as s:
        return {t.name: sorted(repr(tuple(r)) for r in s.execute(select(t)))
                for t in Base.metadata.sorted_tables}


@pytest.fixture
def imported(session_factory, settings):
    report = run(session_factory, settings, EXAMPLE)
    assert report.ok, report
    return report


# --- the example directory -------------------------------------------------------------------

def test_example_directory_imports(session_factory, settings, imported):
    assert [(f.file, f.rows, f.inserted, f.updated, f.stored) for f in imported.files] == [
        ("units.csv", 1, 1, 0, True), ("employers.csv", 2, 2, 0, True),
        ("slots.csv", 3, 3, 0, True), ("participants.csv", 3, 3, 0, True),
        ("placements.csv", 3, 3, 0, True)]
    assert counts(session_factory) == {"units": 1, "employers": 2, "slots": 3,
                                       "participants": 3, "placements": 3,
                                       "placement_events": 3}
    with session_factory() as s:
        unit = s.scalars(select(UnitRow)).one()
        assert (unit.name, unit.kommuner) == ("Arbetsmarknadsenheten Umeå", ["2480", "2482"])
        assert unit.settings["default_max_commute_km"] == 40
        people = {p.external_id: p for p in s.scalars(select(ParticipantRow))}
        anna = people["D-1"]
        assert anna.display_name == "Anna Ärlig"
        assert "laga mat 🍲" in anna.profile_text
        assert anna.past_work == [{"code": "9412", "years": 2.0}, {"code": "9111", "years": 0.5}]
        assert anna.postcode == "90326"
        assert 'varit "extrapappa" på' in people["D-2"].profile_text  # "" unquoted
        assert people["D-3"].adaptations == ["inga tunga lyft"]
        assert people["D-2"].status == "i praktik"  # set by the imported started placement
        slot = s.scalars(select(SlotRow).where(SlotRow.external_id == "S-1")).one()
        assert "kanelbullar och diskar.\nHandledaren Märta" in slot.description
        assert slot.accessible is True and slot.physical_demand == "medel"
        employer = s.scalars(select(EmployerRow).where(EmployerRow.external_id == "AG-2")).one()
        assert employer.name == "Umeå kommun – Förskoleförvaltningen"
        assert employer.orgnr == "2120002486"
        pl = s.scalars(select(PlacementRow).where(PlacementRow.external_id == "PL-1")).one()
        assert (pl.status, pl.outcome, pl.outcome_on) == ("completed", "arbete",
                                                          date(2025, 5, 15))
        assert pl.snapshot["profile_text"] == anna.profile_text
        events = list(s.scalars(select(PlacementEventRow)))
        assert {e.action for e in events} == {"import"}


def test_reimport_updates_and_never_duplicates(session_factory, settings, imported, tmp_path):
    again = run(session_factory, settings, EXAMPLE)
    assert again.ok
    assert [(f.inserted, f.updated) for f in again.files] == [
        (0, 1), (0, 2), (0, 3), (0, 3), (0, 3)]
    assert counts(session_factory)["participants"] == 3
    assert counts(session_factory)["placement_events"] == 6  # one "import" event per import

    # The source changed: a new name, and the started placement was completed.
    changed = tmp_path / "changed"
    shutil.copytree(EXAMPLE, changed)
    employers = (changed / "employers.csv").read_text(encoding="utf-8")
    write(changed, "employers.csv", employers.replace("Västerbottens Café & Kök AB",
                                                      "Café Älven AB"))
    placements = (changed / "placements.csv").read_text(encoding="utf-8")
    write(changed, "placements.csv", placements.replace(
        "PL-2,D-2,S-2,,started,2025-09-01,2025-09-05,2025-09-15,,,,,,",
        "PL-2,D-2,S-2,,completed,2025-09-01,2025-09-05,2025-09-15,2025-12-01,,,,ingen,"))
    assert run(session_factory, settings, changed).ok
    assert counts(session_factory)["employers"] == 2
    with session_factory() as s:
        names = set(s.scalars(select(EmployerRow.name)))
        assert "Café Älven AB" in names and "Västerbottens Café & Kök AB" not in names
        bjorn = s.scalars(select(ParticipantRow).where(ParticipantRow.external_id == "D-2")).one()
        assert bjorn.status == "väntande"  # no started placement any more
        pl2 = s.scalars(select(PlacementRow).where(PlacementRow.external_id == "PL-2")).one()
        assert (pl2.status, pl2.outcome_on) == ("completed", date(2025, 12, 1))


# --- bad rows: reported with line and column, nothing of the file stored ------------------

EMP = "id,name,orgnr,sector,kommunkod\n"
SLOT = "id,employer,title,occupation_code,kommunkod,capacity,start_date,accessible\n"
GOOD_SLOT = "S-9,AG-1,Diskare,9412,2480,1,2025-10-01,false\n"
PLACE = ("id,participant,slot,status,proposed_on,decided_on,started_on,ended_on,abort_reason,"
         "outcome\n")

BAD_FILES = {
    "unknown_ssyk": ("slots.csv", SLOT + GOOD_SLOT + "S-10,AG-1,Diskare,9999,2480,1,,false\n",
                     {(3, "occupation_code"): "Okänd yrkeskod '9999'"}),
    "unknown_kommunkod": ("employers.csv", EMP + "AG-9,Ny AB,,privat,2480\n"
                          "AG-10,Fel AB,,privat,9999\n",
                          {(3, "kommunkod"): "Okänd kommunkod '9999'"}),
    "leading_zero_lost": ("employers.csv", EMP + "AG-9,Ny AB,,privat,180\n",
                          {(2, "kommunkod"): "inledande nollor"}),
    "bad_orgnr_luhn": ("employers.csv", EMP + "AG-9,Ny AB,556677-8898,privat,2480\n",
                       {(2, "orgnr"): "kontrollsiffra"}),
    "bad_dates": ("slots.csv", SLOT + GOOD_SLOT + "S-10,AG-1,Diskare,9412,2480,1,2025-02-30,\n"
                  "S-11,AG-1,Diskare,9412,2480,1,1/2/2025,\n",
                  {(3, "start_date"): "finns inte", (4, "start_date"): "ÅÅÅÅ-MM-DD"}),
    "bad_boolean": ("slots.csv", SLOT + "S-10,AG-1,Diskare,9412,2480,1,,ja\n",
                    {(2, "accessible"): "true eller false"}),
    "unknown_employer": ("slots.csv", SLOT + GOOD_SLOT + "S-10,AG-404,Diskare,9412,2480,1,,\n",
                         {(3, "employer"): "'AG-404' finns inte"}),
    "repeated_id": ("employers.csv", EMP + "AG-9,Ny AB,,privat,2480\nAG-9,Ny AB,,privat,2480\n",
                    {(3, "id"): "finns redan på rad 2"}),
    "capacity_exceeded": ("placements.csv", PLACE + "PL-10,D-3,S-1,accepted,2025-11-01,"
                          "2025-11-02,,,,\nPL-11,D-2,S-1,accepted,2025-11-01,2025-11-03,,,,\n",
                          {(3, "slot"): "alla är redan tagna"}),
    "inconsistent_history": ("placements.csv", PLACE
                             + "PL-20,D-3,S-1,completed,2025-11-01,2025-11-02,2025-11-03,,,\n"
                             + "PL-21,D-3,S-1,completed,2025-11-01,2025-11-02,2025-11-10,"
                               "2025-11-05,,\n"
                             + "PL-22,D-3,S-3,proposed,2025-11-01,,,,,arbete\n"
                             + "PL-23,D-3,S-1,aborted,2025-11-01,2025-11-02,2025-11-03,"
                               "2025-11-04,trött,\n"
                             + "PL-24,D-3,S-1,klar,2025-11-01,,,,,\n",
                             {(2, "ended_on"): "Måste anges", (3, "ended_on"): "före started_on",
                              (4, "outcome"): "Utfall anges bara", (5, "abort_reason"):
                              "Ogiltigt värde", (6, "status"): "Ogiltigt värde"}),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_rows_are_reported_and_nothing_is_stored(session_factory, settings, imported,
                                                    tmp_path, case):
    name, text, expected = BAD_FILES[case]
    before = db_state(session_factory)
    report = run(session_factory, settings, write(tmp_path / case, name, text).parent)
    assert not report.ok
    result = file_report(report, name)
    assert not result.stored and (result.inserted, result.updated) == (0, 0)
    found = where(report, name)
    assert set(found) == set(expected), found
    for key, fragment in expected.items():
        assert fragment in found[key], found[key]
    assert db_state(session_factory) == before


def test_later_file_reports_references_to_a_file_that_failed(session_factory, settings,
                                                             tmp_path):
    write(tmp_path, "employers.csv", EMP + "AG-9,Ny AB,,privat,2480\nAG-10,Fel AB,,privat,99\n")
    write(tmp_path, "slots.csv", SLOT + "S-9,AG-9,Diskare,9412,2480,1,,\n")
    report = run(session_factory, settings, tmp_path)
    assert [f.stored for f in report.files] == [False, False]
    assert (3, "kommunkod") in where(report, "employers.csv")
    message = where(report, "slots.csv")[(2, "employer")]
    assert "'AG-9' finns inte" in message and "employers.csv sparades inte" in message
    assert counts(session_factory)["employers"] == 0


def test_consultant_is_found_by_email(session_factory, settings, world, tmp_path):
    unit = world.unit(external_id="U-K")
    consultant = world.user(Role.consultant, unit_id=unit, email="konsulent@example.se")
    write(tmp_path, "participants.csv",
          "id,unit,consultant,display_name,kommunkod,swedish_level\n"
          "D-1,U-K,konsulent@example.se,Karin Ek,0180,C\n"
          "D-2,U-K,ingen@example.se,Olle Ek,0180,C\n")
    report = run(session_factory, settings, tmp_path)
    assert set(where(report, "participants.csv")) == {(3, "consultant")}
    write(tmp_path, "participants.csv",
          "id,unit,consultant,display_name,kommunkod,swedish_level\n"
          "D-1,U-K,konsulent@example.se,Karin Ek,0180,C\n")
    assert run(session_factory, settings, tmp_path).ok
    with session_factory() as s:
        assert s.scalars(select(ParticipantRow.consultant_id)).one() == consultant.user_id


# --- broken files ----------------------------------------------------------------------------

UNIT = "id,name,kommuner\n"
BROKEN = {
    "latin1": ((UNIT + "U-1,Enhet Umeå,2480\n").encode("cp1252"), 0, "",
               "inte sparad som UTF-8"),
    "utf16": ((UNIT + "U-1,Enhet,2480\n").encode("utf-16"), 0, "", "UTF-16"),
    "stray_quote": (UNIT + 'U-1,Enhet "Norr" Umeå,2480\nU-2,"Enhet "Syd",2480\n', 3, "",
                    "citattecken"),
    "unclosed_quote": (UNIT + 'U-1,Enhet,2480\nU-2,"Enhet Syd,2480\nU-3,Enhet,2480\n', 3, "",
                       "stängs aldrig"),
    "semicolons": ("id;name;kommuner\nU-1;Enhet;2480\n", 1, "", "semikolon"),
    "empty": ("", 0, "", "tom"),
    "missing_column": ("id,name\nU-1,Enhet\n", 1, "kommuner", "saknas"),
    "typo_column": (UNIT.replace("\n", ",rejection_dyas\n") + "U-1,Enhet,2480,30\n", 1,
                    "rejection_dyas", "Menade du 'rejection_days'?"),
    "wrong_width": (UNIT + "U-1,Enhet,2480,extra\n", 2, "", "3 kolumner"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_files_give_a_clear_error(session_factory, settings, tmp_path, case):
    content, line, column, fragment = BROKEN[case]
    report = run(session_factory, settings, write(tmp_path, "units.csv", content).parent)
    result = file_report(report, "units.csv")
    assert not report.ok and not result.stored
    assert [(e.line, e.column) for e in result.errors] == [(line, column)]
    assert fragment.lower() in result.errors[0].message.lower()
    assert counts(session_factory)["units"] == 0


def test_bom_and_crlf_are_accepted(session_factory, settings, tmp_path):
    text = (UNIT + "U-1,Enhet Åre 😀,2480\n").replace("\n", "\r\n")
    write(tmp_path, "units.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert run(session_factory, settings, tmp_path).ok
    with session_factory() as s:
        assert s.scalars(select(UnitRow.name)).one() == "Enhet Åre 😀"


def test_unknown_files_are_reported_and_ignored(session_factory, settings, tmp_path):
    write(tmp_path, "units.csv", UNIT + "U-1,Enhet,2480\n")
    write(tmp_path, "deltagare.csv", "id\n1\n")
    report = run(session_factory, settings, tmp_path)
    assert file_report(report, "units.csv").stored
    assert where(report, "deltagare.csv")[(0, "")].startswith("Okänd fil")
    assert not report.ok


@pytest.mark.parametrize("extra, ok", [("", True), ("x", False)])
def test_free_text_up_to_20000_characters(session_factory, settings, imported, tmp_path,
                                          extra, ok):
    text = "åäö🙂\n" * 4000 + extra  # 20,000 characters (+1)
    quoted = '"' + text + '"'
    write(tmp_path, "slots.csv", "id,employer,title,occupation_code,kommunkod,capacity,"
          f"description\nS-9,AG-1,Diskare,9412,2480,1,{quoted}\n")
    report = run(session_factory, settings, tmp_path)
    assert report.ok is ok
    with session_factory() as s:
        stored = s.scalars(select(SlotRow.description).where(SlotRow.external_id == "S-9")).all()
    if ok:
        assert stored == [text]
    else:
        assert stored == []
        assert "högst 20000 tecken" in where(report, "slots.csv")[(2, "description")]


# --- cell parsers, docs, CLI -----------------------------------------------------------------

ITEM = st.text(min_size=1).map(str.strip).filter(lambda s: s != "" and "|" not in s)


@given(items=st.lists(ITEM, max_size=8), flag=st.booleans(), shout=st.booleans(),
       day=st.dates(), junk=st.text(max_size=12))
def test_cell_parsers_round_trip(items, flag, shout, day, junk):
    assert parse_list("|".join(items)) == items
    assert parse_list("| " + " | ".join(items) + " |") == items
    word = str(flag).upper() if shout else str(flag).lower()
    assert parse_bool(f" {word} ") is flag
    assert parse_date(day.isoformat()) == day
    if junk.strip().lower() not in ("true", "false"):
        with pytest.raises(CellError):
            parse_bool(junk)
    if not re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", junk):
        with pytest.raises(CellError):
            parse_date(junk)


def test_docs_describe_every_column():
    docs = DOCS.read_text(encoding="utf-8")
    for kind in FILES:
        section = docs.split(f"## {kind.name}", 1)[1].split("\n## ", 1)[0]
        missing = [c.name for c in kind.columns if f"| `{c.name}` |" not in section]
        assert not missing, (kind.name, missing)


def test_cli_import_end_to_end(tmp_path, monkeypatch):
    db = tmp_path / "cli.sqlite3"
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    monkeypatch.setenv("MATCHNING_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("MATCHNING_DATA_DIR", str(tmp_path))
    bad = write(tmp_path / "bad", "slots.csv", SLOT + GOOD_SLOT
                + "S-10,AG-1,Diskare,9999,2480,1,,false\n").parent
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        ok = runner.invoke(cli_app, ["import", str(EXAMPLE)])
        failed = runner.invoke(cli_app, ["import", str(bad)])
    finally:
        get_settings.cache_clear()
    assert ok.exit_code == 0, ok.output
    assert "placements.csv: 3 rader, 3 nya, 0 uppdaterade (sparad)" in ok.output
    assert failed.exit_code == 1
    assert "slots.csv: 2 rader, 0 nya, 0 uppdaterade (INTE sparad)" in failed.output
    assert "rad 3, kolumn occupation_code: Okänd yrkeskod '9999'" in failed.output
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(SlotRow)) == 3
    engine.dispose()
