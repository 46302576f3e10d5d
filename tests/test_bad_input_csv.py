"""Bad CSV through the importer and `matchning import`: Swedish text and emoji kept exactly;
wrong encodings, NUL bytes, broken quoting, ragged rows and oversize fields each give one clear
Swedish error naming the line (and the column where there is one), and nothing of the file is
stored: every row of every table is the same before and after, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, func, select

from matchning.importer import ImportReport, import_directory
from matchning.storage.tables import EmployerRow, ParticipantRow, SlotRow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "import-example"

EMP = "id,name,orgnr,sector,kommunkod\n"
# Line 2 changes a stored employer, line 3 adds one: both valid, both must be left unstored
# when a later line of the same file is bad.
GOOD = ("AG-1,Västerbottens Café & Kök AB (nytt namn 🙂),,privat,2480\n"
        "AG-9,Åre Ölstuga AB,,privat,2321\n")
SLOT = "id,employer,title,occupation_code,kommunkod,capacity,description\n"
TEXT_20000 = "Härlig kö på fjället, äta smörgås nu 🍞🙂\n" * 500  # 20,000 characters
assert len(TEXT_20000) == 20_000


def every_row(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table in the database (found by reflection, not from the code)."""
    meta = MetaData()
    meta.reflect(bind=engine)
    with engine.connect() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t)))
                for t in meta.sorted_tables}


def run(session_factory, settings, directory: Path) -> ImportReport:
    return import_directory(session_factory, directory, settings)


def write(directory: Path, name: str, content: str | bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    (directory / name).write_bytes(data)
    return directory


@pytest.fixture
def example(session_factory, settings) -> None:
    report = run(session_factory, settings, EXAMPLE)
    assert report.ok, report


# (file, content, line, column, fragment of the Swedish message)
BAD = {
    "latin1": ("employers.csv", (EMP + GOOD + "AG-10,Café Sjöbod AB,,privat,2480\n")
               .encode("latin-1", errors="replace"), 0, "", "inte sparad som UTF-8"),
    "latin1_names_line": ("employers.csv", EMP.encode() + GOOD.encode()
                          + "AG-10,Café Sjöbod AB,,privat,2480\n".encode("latin-1"), 0, "",
                          "rad 4"),
    "cp1252_dash_and_euro": ("employers.csv", EMP.encode() + GOOD.encode()
                             + "AG-10,Bygg – Ström € AB,,privat,2480\n".encode("cp1252"), 0,
                             "", "UTF-8"),
    "utf16_with_bom": ("employers.csv", (EMP + GOOD).encode("utf-16"), 0, "", "UTF-16"),
    "utf16_without_bom": ("employers.csv", (EMP + GOOD).encode("utf-16-le"), 0, "", "UTF-16"),
    "utf16_big_endian": ("employers.csv", (EMP + GOOD).encode("utf-16-be"), 0, "", "UTF-16"),
    "nul_in_a_cell": ("employers.csv", EMP + GOOD + "AG-10,Ny\x00AB,,privat,2480\n", 4, "name",
                      "NUL"),
    "nul_in_the_header": ("employers.csv", "id,na\x00me,orgnr,sector,kommunkod\n" + GOOD, 1, "",
                          "NUL"),
    "unclosed_quote": ("employers.csv", EMP + GOOD + 'AG-10,"Fel AB,,privat,2480\n'
                       "AG-11,Rätt AB,,privat,2480\n", 4, "", "stängs aldrig"),
    "text_after_closing_quote": ("employers.csv", EMP + GOOD + 'AG-10,"Fel" AB,,privat,2480\n',
                                 4, "", "citattecken"),
    "ragged_short_row": ("employers.csv", EMP + GOOD + "AG-10,Kort AB,privat\n", 4, "",
                         "3 värden men rubrikraden har 5 kolumner"),
    "ragged_long_row": ("employers.csv", EMP + GOOD + "AG-10,Lång AB,,privat,2480,extra,🙂\n",
                        4, "", "7 värden"),
    "bom_then_bad_code": ("employers.csv", b"\xef\xbb\xbf" + (EMP + GOOD
                          + "AG-10,Fel kod AB,,privat,9999\n").encode(), 4, "kommunkod",
                          "Okänd kommunkod"),
    "crlf_and_multiline_then_bad": (
        "slots.csv", (SLOT + 'S-9,AG-1,Diskare,9412,2480,1,"Två rader:\nåäö 🙂"\n'
                      "S-10,AG-1,Diskare,9412,2480,0,Noll platser\n").replace("\n", "\r\n"),
        4, "capacity", "minst 1"),
    "text_20001_characters": ("slots.csv", SLOT + "S-9,AG-1,Diskare,9412,2480,1,ok\n"
                              f'S-10,AG-1,Diskare,9412,2480,1,"{TEXT_20000}x"\n', 3,
                              "description", "högst 20000 tecken"),
    "name_over_300_with_emoji": ("employers.csv", EMP + GOOD + "AG-10," + "🙂" * 301
                                 + ",,privat,2480\n", 4, "name", "högst 300 tecken"),
    "cell_over_the_csv_limit": ("slots.csv", SLOT + "S-9,AG-1,Diskare,9412,2480,1,ok\n"
                                f'S-10,AG-1,Diskare,9412,2480,1,"{"å" * 200_000}"\n', 3, "",
                                "orimligt långt"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_csv_gives_one_clear_error_and_stores_nothing(engine, session_factory, settings,
                                                         example, tmp_path, case):
    name, content, line, column, fragment = BAD[case]
    before = every_row(engine)
    report = run(session_factory, settings, write(tmp_path / case, name, content))
    result = next(f for f in report.files if f.file == name)
    assert not report.ok and not result.stored
    assert (result.inserted, result.updated) == (0, 0)
    assert [(e.line, e.column) for e in result.errors] == [(line, column)], result.errors
    message = result.errors[0].message
    assert fragment in message, message
    assert "\x00" not in message and "Traceback" not in message
    assert every_row(engine) == before


def test_swedish_text_emoji_and_20000_characters_are_kept_exactly(engine, session_factory,
                                                                  settings, example, tmp_path):
    name = "Åsa Öberg-Ängström 👩🏽‍🔧"
    write(tmp_path, "slots.csv", b"\xef\xbb\xbf" + (  # as Excel writes it: BOM and CRLF
        SLOT.replace("\n", "\r\n")
        + f'S-9,AG-1,"Kock, ""Ärtsoppa & pannkaka""",5120,2480,1,"{TEXT_20000}"\r\n').encode())
    write(tmp_path, "participants.csv",
          "id,unit,display_name,kommunkod,swedish_level,profile_text\n"
          f'D-9,UMEA,{name},2480,C,"Gillar fjällen 🏔️ och kör gärna\ntruck. ½ dag i veckan."\n')
    report = run(session_factory, settings, tmp_path)
    assert report.ok, report
    with session_factory() as s:
        slot = s.scalars(select(SlotRow).where(SlotRow.external_id == "S-9")).one()
        assert slot.title == 'Kock, "Ärtsoppa & pannkaka"'
        assert slot.description == TEXT_20000
        person = s.scalars(select(ParticipantRow).where(
            ParticipantRow.external_id == "D-9")).one()
        assert person.display_name == name
        assert person.profile_text == "Gillar fjällen 🏔️ och kör gärna\ntruck. ½ dag i veckan."


def test_a_bad_file_leaves_the_files_before_it_stored(engine, session_factory, settings,
                                                     example, tmp_path):
    """One transaction per file: a good employers.csv is stored, the bad slots.csv after it
    is not (not a single row of it)."""
    write(tmp_path, "employers.csv", EMP + "AG-9,Åre Ölstuga AB,,privat,2321\n")
    write(tmp_path, "slots.csv", SLOT + "S-9,AG-9,Diskare,9412,2321,1,ok\n"
          "S-10,AG-9,Diskare,9412,2321,1,Trasig\x00text\n")
    report = run(session_factory, settings, tmp_path)
    stored = {f.file: f.stored for f in report.files}
    assert stored == {"employers.csv": True, "slots.csv": False}
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(EmployerRow)
                        .where(EmployerRow.external_id == "AG-9")) == 1
        assert s.scalar(select(func.count()).select_from(SlotRow)
                        .where(SlotRow.external_id.in_(("S-9", "S-10")))) == 0


def test_cli_reports_each_bad_file_in_swedish_and_stores_none_of_it(tmp_path, monkeypatch):
    """`matchning import` on a directory of broken files: exit code 1, one line per problem
    naming the file, the line and the column, and not a row of the broken files stored."""
    from typer.testing import CliRunner

    from matchning.cli import app as cli_app
    from matchning.config import get_settings
    from matchning.storage import migrate
    from matchning.storage.db import make_engine

    db = tmp_path / "cli.sqlite3"
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    monkeypatch.setenv("MATCHNING_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("MATCHNING_DATA_DIR", str(tmp_path))
    bad = tmp_path / "in"
    write(bad, "units.csv", "id,name,kommuner\nU-1,Enheten i Malmö 🙂,1280\n")
    write(bad, "employers.csv", (EMP + "AG-1,Café Åkervägen AB,,privat,1280\n").encode("cp1252"))
    write(bad, "participants.csv", "id,unit,display_name,kommunkod,swedish_level\n"
          "D-1,U-1,Åsa Öberg,1280,C\nD-2,U-1,Bo\x00Ek,1280,C\n")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["import", str(bad)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    out = result.output
    assert "units.csv: 1 rader, 1 nya, 0 uppdaterade (sparad)" in out
    assert "employers.csv: 0 rader, 0 nya, 0 uppdaterade (INTE sparad)" in out
    assert "hela filen: Filen är inte sparad som UTF-8 (första felaktiga tecknet finns på rad 2)" \
        in out
    assert "participants.csv: 2 rader, 0 nya, 0 uppdaterade (INTE sparad)" in out
    assert "rad 3, kolumn display_name: Cellen innehåller ett NUL-tecken" in out
    rows = every_row(engine)
    assert len(rows["units"]) == 1
    assert rows["employers"] == [] and rows["participants"] == []
    engine.dispose()
