"""The columns of each import file: name, cell format and the record field it fills.

`docs/import.md` documents every column listed here (a test keeps the two in step).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from matchning.importer.cells import PARSERS, CellError, parse_cell
from matchning.importer.report import RowError


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"  # a parser in cells.PARSERS, or "ref": an external id resolved later
    required: bool = False  # must be in the header
    field: str = ""  # the record field it fills; defaults to the name

    @property
    def target(self) -> str:
        return self.field or self.name


def _cols(spec: str, **kinds: str) -> tuple[Column, ...]:
    """Columns from a space separated list; a trailing `!` marks a required column."""
    out = []
    for token in spec.split():
        name = token.rstrip("!")
        out.append(Column(name, kinds.get(name, "text"), token.endswith("!")))
    return tuple(out)


ID = Column("id", "ref", required=True, field="external_id")

UNIT_COLUMNS = (ID, *_cols("name! kommuner! default_max_commute_km rejection_days "
                           "recent_abort_days", kommuner="list", default_max_commute_km="float",
                           rejection_days="int", recent_abort_days="int"))
UNIT_SETTINGS = ("default_max_commute_km", "rejection_days", "recent_abort_days")

EMPLOYER_COLUMNS = (ID, *_cols("name! orgnr sector! size_band kommunkod! contact_name "
                               "contact_email contact_phone"))

SLOT_COLUMNS = (
    ID, Column("employer", "ref", required=True, field="employer_id"),
    *_cols("title! description occupation_code! required_skills nice_skills kommunkod! lat lon "
           "capacity! hours_per_week start_date end_date driving_licences swedish_level "
           "physical_demand accessible supervisor may_lead_to_job status",
           required_skills="list", nice_skills="list", lat="float", lon="float", capacity="int",
           hours_per_week="float", start_date="date", end_date="date", driving_licences="list",
           accessible="bool", supervisor="bool", may_lead_to_job="bool"),
)

PARTICIPANT_COLUMNS = (
    ID, Column("unit", "ref", required=True, field="unit_id"),
    Column("consultant", "ref", field="consultant_id"),
    *_cols("personnummer display_name! status exit_outcome exit_date enrolled_on kommunkod "
           "postcode lat lon max_commute_km driving_licences own_car swedish_level! "
           "other_languages education_level wished_occupations past_work skills profile_text "
           "max_hours_per_week earliest_start needs_supervisor adaptations "
           "adaptations_consent_date target_groups gender birth_year born_abroad",
           exit_date="date", enrolled_on="date", lat="float", lon="float",
           max_commute_km="float", driving_licences="list", own_car="bool",
           other_languages="list", wished_occupations="list", past_work="past_work",
           skills="list", max_hours_per_week="float", earliest_start="date",
           needs_supervisor="bool", adaptations="list", adaptations_consent_date="date",
           target_groups="list", birth_year="int", born_abroad="bool"),
)

PLACEMENT_COLUMNS = (
    ID, Column("participant", "ref", required=True), Column("slot", "ref", required=True),
    Column("unit", "ref"),
    *_cols("status! proposed_on! decided_on started_on ended_on decline_reason abort_reason "
           "note outcome outcome_on", proposed_on="date", decided_on="date", started_on="date",
           ended_on="date", outcome_on="date"),
)


def check_header(columns: tuple[Column, ...], header: list[str]) -> list[RowError]:
    """Unknown columns (typos) and missing required columns, reported on line 1."""
    known = [c.name for c in columns]
    errors = []
    for name in header:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Menade du {close[0]!r}?" if close else ""
            errors.append(RowError(1, name, f"Okänd kolumn {name!r}.{hint}"))
    for c in columns:
        if c.required and c.name not in header:
            errors.append(RowError(1, c.name, f"Kolumnen {c.name!r} saknas (den måste "
                                              "finnas)."))
    return errors


def convert(columns: Iterable[Column], cells: dict[str, str]
            ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Record values from the non-empty cells (an empty cell means "not given") and problems."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for col in columns:
        cell = cells.get(col.name, "")
        if col.kind == "ref" or not cell.strip():
            continue
        try:
            values[col.target] = parse_cell(col.kind, cell)
        except CellError as exc:
            problems.append((col.name, str(exc)))
    return values, problems


def converter(columns: Iterable[Column], header: list[str]
              ) -> Callable[[dict[str, str]], tuple[dict[str, Any], list[tuple[str, str]]]]:
    """`convert` for one file, with the work that is the same for every row done once: only
    the header's columns, their parsers looked up. A parsed cell is remembered by its text
    (dates, numbers, flags and short lists recur row after row; up to `REMEMBERED` texts a
    column); a list is handed out as a new list each time, and `past_work` (a list of
    dicts) and a cell in error are parsed each time."""
    plan = [(c.name, c.target, None if c.kind == "text" else PARSERS[c.kind],
             None if c.kind in ("text", "past_work") else {}, c.kind == "list")
            for c in columns if c.kind != "ref" and c.name in header]

    def convert_row(cells: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        values: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for name, target, parse, memo, is_list in plan:
            cell = cells[name]
            if not cell or cell.isspace():
                continue
            if parse is None:  # text: the cell as it is (cells.parse_text)
                values[target] = cell
                continue
            value = _MISSING if memo is None else memo.get(cell, _MISSING)
            if value is _MISSING:
                try:
                    value = parse(cell)
                except CellError as exc:
                    problems.append((name, str(exc)))
                    continue
                if memo is not None and len(memo) < REMEMBERED:
                    memo[cell] = value
            values[target] = list(value) if is_list else value
        return values, problems
    return convert_row


REMEMBERED = 20_000
_MISSING = object()


def column_for(columns: tuple[Column, ...], field: str, message: str = "") -> str:
    """The column that holds a record field: `past_work[2]` → past_work, unit_id → unit.

    A cross-field error has no field; then the first column named in its message is used.
    """
    by_field = {c.target: c.name for c in columns}
    name = re.sub(r"\[\d+\]", "", field).split(".")[0]
    if name:
        return by_field.get(name, name)
    for word in re.findall(r"[a-z_]+", message):
        if word in by_field:
            return by_field[word]
    return ""
