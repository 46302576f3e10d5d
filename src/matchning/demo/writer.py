"""Bulk inserts with SQLAlchemy Core: explicit ids, executemany in chunks, no ORM."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, text

from matchning.storage.tables import (
    ApiTokenRow,
    EmployerRow,
    FeedbackRow,
    MonitoringRow,
    ParticipantRow,
    PlacementEventRow,
    PlacementRow,
    SlotRow,
    UnitRow,
    UserRow,
)

CHUNK = 10_000
TABLES: dict[str, Table] = {
    "units": UnitRow.__table__, "employers": EmployerRow.__table__,
    "users": UserRow.__table__, "api_tokens": ApiTokenRow.__table__,
    "slots": SlotRow.__table__, "participants": ParticipantRow.__table__,
    "participant_monitoring": MonitoringRow.__table__,
    "placements": PlacementRow.__table__, "placement_events": PlacementEventRow.__table__,
    "feedback": FeedbackRow.__table__,
}
WITH_ID = [name for name in TABLES if name != "participant_monitoring"]


def id_offsets(conn: Connection) -> dict[str, int]:
    """The highest id in use per table, so generated ids follow existing rows."""
    return {name: int(conn.execute(select(func.coalesce(func.max(TABLES[name].c.id), 0)))
                      .scalar_one()) for name in WITH_ID}


def bulk_insert(conn: Connection, name: str, rows: Iterable[dict[str, Any]],
                chunk: int = CHUNK) -> int:
    """Insert `rows` in chunks of `chunk` (one executemany each); returns the row count."""
    stmt = insert(TABLES[name])
    it = iter(rows)
    total = 0
    while batch := list(islice(it, chunk)):
        conn.execute(stmt, batch)
        total += len(batch)
    return total


def reset_sequences(conn: Connection) -> None:
    """PostgreSQL: move each id sequence past the explicit ids, so later inserts work."""
    if conn.dialect.name != "postgresql":
        return
    for name in WITH_ID:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"))
