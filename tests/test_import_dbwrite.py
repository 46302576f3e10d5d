"""The values `importer.dbwrite` hands the driver are those SQLAlchemy's own bind processors
make: JSON text byte for byte, dates and booleans as SQLite stores them, defaults for the
columns a row leaves out, whatever keys the rows give."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg

from matchning.domain.vocab import TargetGroup
from matchning.importer.dbwrite import _plan
from matchning.storage.tables import AuditRow, ParticipantRow

JSON_VALUES: list[Any] = [
    None, [], ["B"], ["ungdom", "rehabilitering"], [next(iter(TargetGroup))],
    ["Å ä ö", "日本語", "emoji 🍲", 'quote " and \\ backslash', "\x01\x1f", "\u2028\ud800"],
    [{"code": "5223", "years": 2.0}, {"code": "9111", "years": 0.1 + 0.2}],
    {"fields": ["a", "b"], "n": 1, "none": None, "inf": float("inf"), "yes": True, 3: "int key"},
    [1, 2.5, None, True, [], {}],
]


def _own(table, dialect, key: str):
    column = table.__table__.c[key]
    return column.type.dialect_impl(dialect).bind_processor(dialect)


@pytest.mark.parametrize("value", JSON_VALUES, ids=repr)
def test_json_text_is_sqlalchemys_byte_for_byte(value):
    dialect = sqlite.dialect()
    mine = next(c for c in _plan(ParticipantRow.__table__, dialect, {"skills"}).columns
                if c.key == "skills").process
    assert mine is not None
    for _ in range(2):  # the second time from what is remembered
        assert mine(value) == _own(ParticipantRow, dialect, "skills")(value)


@pytest.mark.parametrize("value", [v for v in JSON_VALUES if v is not None], ids=repr)
def test_json_text_for_copy_is_what_psycopg_would_send(value):
    """SQLAlchemy gives psycopg a Jsonb wrapper, which psycopg writes as `json.dumps` of it."""
    dialect = psycopg.dialect()
    mine = next(c for c in _plan(ParticipantRow.__table__, dialect, {"skills"}).columns
                if c.key == "skills").process
    assert mine is not None
    wrapper = _own(ParticipantRow, dialect, "skills")(value)
    assert mine(value) == json.dumps(wrapper.obj)


def test_remembered_times_keep_their_zone():
    """Equal instants in two zones are different texts on SQLite: not one remembered text."""
    dialect = sqlite.dialect()
    at = next(c for c in _plan(AuditRow.__table__, dialect, {"at"}).columns if c.key == "at")
    assert at.process is not None
    utc = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    cet = utc.astimezone(timezone(timedelta(hours=1)))
    own = _own(AuditRow, dialect, "at")
    assert [at.process(utc), at.process(cet), at.process(utc)] == [own(utc), own(cet), own(utc)]
    assert own(utc) != own(cet)


def _reference(table, dialect, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Column by column, with each column's own processor and default."""
    plan = _plan(table.__table__, dialect, set().union(*rows), rows[0].keys())
    out = []
    for row in rows:
        values = {}
        for c in plan.columns:
            if c.key in row:
                own = _own(table, dialect, c.key)
                values[c.key] = own(row[c.key]) if own else row[c.key]
            else:
                values[c.key] = c.default
        out.append(values)
    return out


@pytest.mark.parametrize("dialect", [sqlite.dialect(), psycopg.dialect()], ids=lambda d: d.name)
def test_rows_with_any_keys_get_their_values_and_defaults(dialect):
    base = {"unit_id": 1, "external_id": "p", "display_name": "Anna", "status": "väntande",
            "swedish_level": "B", "enrolled_on": date(2026, 1, 2), "own_car": True,
            "skills": ["Kassavana"], "past_work": [{"code": "5223", "years": 1.0}],
            "version": 1}
    rows = [
        base,
        {**base, "external_id": "q", "skills": []},                  # the same keys
        {**base, "external_id": "r", "pnr_hash": "abc"},              # one more
        {k: v for k, v in base.items() if k != "own_car"},           # one fewer
        {**{k: v for k, v in base.items() if k != "own_car"}, "pnr_hash": "x"},  # as many, other
        {**base, "external_id": "s", "enrolled_on": None, "skills": None},
    ]
    plan = _plan(ParticipantRow.__table__, dialect, set().union(*rows), rows[0].keys())
    got = [dict(zip([c.key for c in plan.columns], t, strict=True)) for t in plan.tuples(rows)]
    want = _reference(ParticipantRow, dialect, rows)
    assert _sent(got) == _sent(want)


def _sent(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A Jsonb wrapper (PostgreSQL) as the text psycopg sends for it."""
    return [{k: json.dumps(v.obj) if hasattr(v, "obj") else v for k, v in r.items()}
            for r in rows]
