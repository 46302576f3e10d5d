"""Reading one CSV file: UTF-8 (with or without BOM), comma separated, `"` quoting, a header.

Lines are numbered as in the file (the header is line 1); a record spanning several lines (a
quoted text with line breaks) is numbered by the line it starts on.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from matchning.importer.report import RowError

NUL = "\x00"  # valid UTF-8, but no text holds it and PostgreSQL cannot store it


class CsvFileError(Exception):
    """The file cannot be read at all; nothing of it is imported."""

    def __init__(self, line: int, message: str, column: str = "") -> None:
        super().__init__(message)
        self.error = RowError(line, column, message)


class CsvRow(NamedTuple):  # a tuple: cheaper to make than a frozen dataclass, 400,000 times
    line: int
    cells: dict[str, str]


@dataclass
class Table:
    header: list[str]
    rows: list[CsvRow] = field(default_factory=list)
    bad_rows: list[RowError] = field(default_factory=list)  # rows of the wrong width

    @property
    def row_count(self) -> int:
        return len(self.rows) + len(self.bad_rows)


def decode(data: bytes) -> str:
    """The text of a UTF-8 file (a BOM is dropped); a clear error for anything else."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data.count(b"\x00") * 4 > len(data):
        raise CsvFileError(0, "Filen är sparad som UTF-16. Spara den som UTF-8 "
                              "(i Excel: 'CSV UTF-8 (kommaavgränsad)').")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CsvFileError(0, "Filen är inte sparad som UTF-8 (första felaktiga tecknet finns "
                              f"på rad {line}). Spara den som UTF-8 (i Excel: 'CSV UTF-8 "
                              "(kommaavgränsad)').") from None


def _csv_message(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"Ett fält är orimligt långt (över {csv.field_size_limit()} tecken)."
    if "expected after" in text:
        return ("Felaktiga citattecken: efter ett avslutande \" ska det komma ett komma eller "
                "radslut. Ett \" inuti en text skrivs som \"\".")
    return f"Raden går inte att läsa som CSV ({text})."


def _records(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            out.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise CsvFileError(start, f"Ett citattecken (\") som öppnas på rad {start} "
                                      "stängs aldrig.") from None
        raise CsvFileError(reader.line_num, _csv_message(exc)) from None
    return out


def _header(cells: list[str]) -> list[str]:
    names = [c.strip() for c in cells]
    if len(names) == 1 and ";" in names[0]:
        raise CsvFileError(1, "Rubrikraden verkar vara semikolonseparerad; filen ska vara "
                              "kommaseparerad.")
    for i, name in enumerate(names):
        if NUL in name:
            raise CsvFileError(1, f"Kolumn {i + 1} i rubrikraden innehåller ett NUL-tecken (\\0).")
        if not name:
            raise CsvFileError(1, f"Kolumn {i + 1} i rubrikraden saknar namn.")
        if name in names[:i]:
            raise CsvFileError(1, f"Kolumnen {name!r} finns två gånger i rubrikraden.", name)
    return names


def parse(text: str) -> Table:
    """The header and the data rows of a CSV text. Blank rows are skipped."""
    records = _records(text)
    if not records or not any(c.strip() for c in records[0][1]):
        raise CsvFileError(0, "Filen är tom: rubrikraden saknas.")
    table = Table(header=_header(records[0][1]))
    header, width = table.header, len(table.header)
    any_nul = NUL in text  # else no row needs looking at cell by cell
    for line, cells in records[1:]:
        if not (cells and cells[0].strip()) and not any(c.strip() for c in cells):
            continue  # blank (a row with its first cell filled is not: checked first)
        if len(cells) != width:
            table.bad_rows.append(RowError(line, "", f"Raden har {len(cells)} värden men "
                                                     f"rubrikraden har {width} kolumner."))
            continue
        nul = any_nul and next((name for name, cell in zip(header, cells, strict=True)
                                if NUL in cell), None)
        if nul:
            table.bad_rows.append(RowError(line, nul, "Cellen innehåller ett NUL-tecken (\\0), "
                                                      "som inte kan sparas."))
            continue
        table.rows.append(CsvRow(line, dict(zip(header, cells, strict=True))))
    return table


def read_table(path: Path) -> Table:
    return parse(decode(path.read_bytes()))
