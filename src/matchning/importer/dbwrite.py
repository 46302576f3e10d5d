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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

_MISSING = object()


@dataclass(frozen=True)
class _Column:
    key: str
    process: Callable[[Any], Any] | None
    default: Any  # the value written when a row leaves the column out (already processed)


@dataclass(frozen=True)
class _Plan:
    table: Table
    columns: tuple[_Column, ...]

    def tuples(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        plan = [(c.key, c.default, c.process) for c in self.columns]
        return [tuple([default if (v := row.get(key, _MISSING)) is _MISSING
                       else v if process is None else process(v)
                       for key, default, process in plan]) for row in rows]


def _plan(table: Table, dialect: Dialect, keys: set[str]) -> _Plan:
    """The columns written: all but the generated id and those filled by the database
    (server defaults), unless rows give them."""
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
        if process is not None and isinstance(impl, sqltypes.JSON):
            process = _remembered(process)
        default: Any = None  # an omitted column without a default is NULL
        if col.default is not None and not col.default.is_sequence:
            value = col.default.arg(None) if col.default.is_callable else col.default.arg
            default = process(value) if process is not None else value
        columns.append(_Column(col.key, process, default))
    return _Plan(table, tuple(columns))


def _remembered(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's processor, its result for a list of texts remembered: the same few
    lists (licences, languages, target groups, none at all) recur on most rows."""
    memo: dict[tuple[str, ...], Any] = {}

    def run(value: Any) -> Any:
        if type(value) is not list or not all(type(v) is str for v in value):
            return process(value)
        key = tuple(value)
        done = memo.get(key, _MISSING)
        if done is _MISSING:
            done = memo[key] = process(value)
        return done
    return run


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (column key → value) into `table`, in their order."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    plan = _plan(table, dialect, set().union(*rows))
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
