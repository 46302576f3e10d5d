"""The importer validates a record as its `model_validate` does (`importer.validators`), only
without the per-field NUL check that `csvread` has made already: the same records, the same
errors, for good and bad rows of every record the importer makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from matchning.domain.records import (
    EmployerData,
    ParticipantData,
    SlotData,
    UnitData,
)
from matchning.importer import columns as cols
from matchning.importer.csvread import parse
from matchning.importer.history import PlacementHistory
from matchning.importer.validators import validator

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "import-example"

# Each record with the file and columns it is made from, and what the importer adds.
RECORDS: list[tuple[type[BaseModel], str, tuple[cols.Column, ...], dict[str, Any]]] = [
    (UnitData, "units.csv", cols.UNIT_COLUMNS, {}),
    (EmployerData, "employers.csv", cols.EMPLOYER_COLUMNS, {}),
    (SlotData, "slots.csv", cols.SLOT_COLUMNS, {"employer_id": 7}),
    (ParticipantData, "participants.csv", cols.PARTICIPANT_COLUMNS,
     {"unit_id": 3, "consultant_id": None}),
    (PlacementHistory, "placements.csv", cols.PLACEMENT_COLUMNS, {}),
]

# Bad values, one at a time, for whichever record has the field.
BAD: dict[str, list[Any]] = {
    "kommunkod": ["180", "01800", "abcd", ""],
    "display_name": ["", "   ", "x" * 201],
    "name": ["", "x" * 301],
    "sector": ["statlig"],
    "contact_email": ["inte-en-adress", "a@b"],
    "status": ["okänd", "avslutad"],
    "exit_outcome": ["arbete", "nej"],
    "postcode": ["9032", "903-26"],
    "max_commute_km": [-1, 501, "långt"],
    "capacity": [0, 101],
    "hours_per_week": [0, 61],
    "occupation_code": ["941", "94122"],
    "wished_occupations": [["9412", "12"], "9412"],
    "past_work": [[{"code": "9412", "years": -1}], [{"code": "12", "years": 1}], [{"x": 1}]],
    "skills": [["ok", ""], ["x" * 201]],
    "other_languages": [["sv", "svenska"]],
    "adaptations": [["flyga"], ["reducerad arbetstid"]],
    "target_groups": [["ingen sådan"]],
    "gender": ["kanske"],
    "birth_year": [1899, 2101],
    "kommuner": [[], ["12"]],
    "proposed_on": ["igår", None],
    "external_id": ["", " ", "x" * 101],
    "extra_field": ["okänt fält"],
}


def _inputs(name: str, columns: tuple[cols.Column, ...], added: dict[str, Any]
            ) -> list[dict[str, Any]]:
    table = parse((EXAMPLE / name).read_text(encoding="utf-8"))
    convert = cols.converter(columns, table.header)
    good = []
    for row in table.rows:
        values, problems = convert(row.cells)
        assert not problems
        settings = {k: values.pop(k) for k in cols.UNIT_SETTINGS if k in values}  # as rows.py
        if columns is cols.UNIT_COLUMNS:
            values["settings"] = settings
        good.append({**added, **values, "external_id": row.cells["id"]})
    out = list(good)
    for field, values in BAD.items():
        for value in values:
            out.append({**good[0], field: value})
    out.append({})
    out.append({k: v for k, v in good[-1].items() if k not in ("kommunkod", "postcode")})
    return out


def _outcome(validate, values: dict[str, Any]) -> tuple[str, Any]:
    try:
        record = validate(values)
    except ValidationError as exc:
        return "error", [{**e, "ctx": {k: str(v) for k, v in e.get("ctx", {}).items()}}
                         for e in exc.errors(include_url=False)]  # an exception in ctx: its text
    return "ok", (type(record), record.model_dump(), record.model_fields_set)


@pytest.mark.parametrize(("model", "name", "columns", "added"), RECORDS,
                         ids=[r[1] for r in RECORDS])
def test_the_importers_validator_gives_what_model_validate_gives(model, name, columns, added):
    inputs = _inputs(name, columns, added)
    outcomes = [(_outcome(model.model_validate, v), _outcome(validator(model).validate_python, v))
                for v in inputs]
    assert all(mine == theirs for theirs, mine in outcomes)
    assert {kind for (kind, _), _ in outcomes} == {"ok", "error"}  # both kinds were tried


def test_the_participants_validator_leaves_out_only_the_nul_check():
    """The check that is left out is the one `csvread` makes for every cell (a row with NUL
    never becomes a record); the model itself still refuses NUL, for the API."""
    values = {"display_name": "Anna\x00", "swedish_level": "B", "kommunkod": "2480"}
    with pytest.raises(ValidationError, match="NUL"):
        ParticipantData.model_validate(values)
    assert validator(ParticipantData).validate_python(values).display_name == "Anna\x00"
    text = "id,unit,display_name,swedish_level,kommunkod\nD-1,U,Anna\x00,B,2480\n"
    table = parse(text)
    assert not table.rows and "NUL" in table.bad_rows[0].message

