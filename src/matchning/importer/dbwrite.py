"""Many new rows of one table through the session's own database connection, in its
transaction: PostgreSQL's COPY, SQLite's `executemany` of plain tuples.

The values are turned into what the driver receives exactly as SQLAlchemy turns them (each
column's own bind processor for the dialect: JSON text, dates, booleans), and a column a row
leaves out gets the column's default, as a Core INSERT gives it; only SQLAlchemy's per-row
parameter handling is left out, which at 400,000 rows was the larger part of the writing.
A unique or foreign key violation is raised as SQLAlchemy's `IntegrityError`, as a Core
INSERT would raise it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from json import JSONEncoder
from json.encoder import c_make_encoder, encode_basestring_ascii
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

_MISSING = object()
_JSON_AS_TEXT = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}  # see _json_processor
_TEXT = {str}
# json.dumps's own C encoder with its defaults, made once (markers None: the values come from
# validated records and hold no cycles); None where Python lacks the C accelerator.
_ENCODE = c_make_encoder(None, JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ",
                         False, False, True) if c_make_encoder is not None else None


@dataclass(frozen=True)
class _Column:
    key: str
    process: Callable[[Any], Any] | None
    default: Any  # the value written when a row leaves the column out (already processed)


@dataclass(frozen=True)
class _Plan:
    table: Table
    columns: tuple[_Column, ...]
    leading: int = 0  # the first columns are those the first row gives

    def tuples(self, rows: Sequence[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
        """The rows as the driver takes them, one at a time: a COPY sends each batch of them
        as it is made, so PostgreSQL stores the first while the next are made."""
        plan = [(c.key, c.default, c.process) for c in self.columns]
        # A row with the first row's keys (most rows: they are made alike) is read in one C
        # call, the columns it leaves out (put last, see _plan) get their defaults, and only
        # the values that need it are processed; any other row column by column.
        head = [c.key for c in self.columns[:self.leading]]
        read = operator.itemgetter(*head) if len(head) > 1 else None
        tail = [c.default for c in self.columns[self.leading:]]
        processed = [(i, c.process) for i, c in enumerate(self.columns[:self.leading])
                     if c.process is not None]
        for row in rows:
            if read is not None and len(row) == len(head):
                try:
                    values = [*read(row), *tail]
                except KeyError:  # other keys, as many
                    pass
                else:
                    for i, process in processed:
                        values[i] = process(values[i])
                    yield tuple(values)
                    continue
            yield tuple([default if (v := row.get(key, _MISSING)) is _MISSING
                         else v if process is None else process(v)
                         for key, default, process in plan])


def _plan(table: Table, dialect: Dialect, keys: set[str], first: Collection[str] = ()
          ) -> _Plan:
    """The columns written: all but the generated id and those filled by the database
    (server defaults), unless rows give them; those `first` (the first row) gives come first,
    in the table's order (the order of the columns in the statement is of no consequence)."""
    unknown = keys - set(table.columns.keys())
    if unknown:
        raise ValueError(f"{table.name} has no column {sorted(unknown)}")
    columns = []
    for col in table.columns:
        generated = col is table.autoincrement_column or col.server_default is not None
        if generated and col.key not in keys:
            continue
        impl = col.type.dialect_impl(dialect)
        process = impl.bind_processor(dialect)
        default: Any = None  # an omitted column without a default is NULL
        if col.default is not None and not col.default.is_sequence:
            value = col.default.arg(None) if col.default.is_callable else col.default.arg
            default = process(value) if process is not None else value
        if isinstance(impl, sqltypes.JSON) and process is not None:
            process = _json_processor(process, dialect)
        elif process is not None and _repeats(impl):
            process = _remembered(process)
        columns.append(_Column(col.key, process, default))
    columns.sort(key=lambda c: c.key not in first)  # a stable sort
    return _Plan(table, tuple(columns), sum(c.key in first for c in columns))


def _json_processor(process: Callable[[Any], Any], dialect: Dialect, limit: int = 10_000
                    ) -> Callable[[Any], Any]:
    """A JSON column's processor, a list or dict (every JSON value here) turned into its text
    by the C encoder `json.dumps` uses, made once with `json.dumps`'s defaults (separators,
    ASCII escapes): the text SQLAlchemy writes on SQLite, for less (`json.dumps` makes a new
    encoder per call). PostgreSQL's COPY takes the same text for a jsonb column, where
    SQLAlchemy hands psycopg a `Jsonb` wrapper that psycopg turns into that text with
    `json.dumps`. Anything else (None, SQL NULL), or a dialect with its own JSON serializer,
    goes through the column's processor."""
    own = getattr(dialect, "_json_serializer", None) is not None
    if own or _ENCODE is None or (dialect.name, dialect.driver) not in _JSON_AS_TEXT:
        return process

    memo: dict[tuple[str, ...], str] = {}  # a list of texts -> its JSON text

    def run(value: Any) -> Any:
        if type(value) is list:
            if not set(map(type, value)) <= _TEXT:  # e.g. past_work's dicts
                return "".join(_ENCODE(value, 0))
            # The same few lists (none, licences, languages, target groups) recur on most rows.
            key = tuple(value)
            text = memo.get(key)
            if text is None:
                text = "".join(_ENCODE(value, 0))
                if len(memo) < limit:
                    memo[key] = text
            return text
        if type(value) is dict:
            return "".join(_ENCODE(value, 0))
        return process(value)
    return run


# Column types whose values recur row after row (a few hundred dates, two booleans, the one
# time of a file's audit rows): their processor's results are remembered.
_REPEATED = (sqltypes.Date, sqltypes.DateTime, sqltypes.Boolean)


def _repeats(impl: Any) -> bool:
    if isinstance(impl, sqltypes.TypeDecorator):  # e.g. UtcDateTime, unless it converts itself
        if type(impl).process_bind_param is not sqltypes.TypeDecorator.process_bind_param:
            return False
        impl = impl.impl_instance
    return isinstance(impl, _REPEATED)


def _remembered(process: Callable[[Any], Any], limit: int = 10_000) -> Callable[[Any], Any]:
    """A column's processor, its result remembered by the value (and its type): formatting a
    date (SQLite) is a Python call each. A time's zone is part of the key: equal times in two
    zones are written differently."""
    memo: dict[tuple[Any, ...], Any] = {}

    def run(value: Any) -> Any:
        key = ((type(value), value, value.tzinfo) if isinstance(value, datetime)
               else (type(value), value))
        try:
            return memo[key]
        except KeyError:
            done = process(value)
            if len(memo) < limit:
                memo[key] = done
            return done
        except TypeError:  # unhashable
            return process(value)
    return run


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (column key → value) into `table`, in their order."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    plan = _plan(table, dialect, set().union(*rows), rows[0].keys())
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy(conn, plan, rows)
    elif dialect.name == "sqlite":
        _executemany(conn, plan, rows)
    else:  # any other database: Core INSERTs, one per set of columns given
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(tuple(sorted(r)), []).append(r)
        for params in groups.values():
            conn.execute(insert(table), params)


def _names(conn: Connection, plan: _Plan) -> tuple[str, str]:
    quote = conn.dialect.identifier_preparer.quote
    return quote(plan.table.name), ", ".join(quote(c.key) for c in plan.columns)


def _copy(conn: Connection, plan: _Plan, rows: Sequence[dict[str, Any]]) -> None:
    table, columns = _names(conn, plan)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    raw = conn.connection.driver_connection
    dbapi = conn.dialect.loaded_dbapi
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
            for values in plan.tuples(rows):
                copy.write_row(values)
    except dbapi.Error as exc:
        # PostgreSQL's text of a failed COPY quotes the row (personal data): keep only its
        # first sentence, e.g. 'duplicate key value violates unique constraint "…"'.
        diag = getattr(exc, "diag", None)
        bare = type(exc)(getattr(diag, "message_primary", None) or type(exc).__name__)
        raise DBAPIError.instance(sql, None, bare, dbapi.Error,
                                  hide_parameters=True) from None


def _executemany(conn: Connection, plan: _Plan, rows: Sequence[dict[str, Any]]) -> None:
    table, columns = _names(conn, plan)
    sql = (f"INSERT INTO {table} ({columns}) VALUES "
           f"({', '.join('?' for _ in plan.columns)})")
    raw = conn.connection.driver_connection
    dbapi = conn.dialect.loaded_dbapi
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(sql, plan.tuples(rows))
    except dbapi.IntegrityError as exc:
        raise IntegrityError(sql, None, exc) from exc
    finally:
        cur.close()
