"""Small generic helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session

from matchning.storage.tables import Base

T = TypeVar("T", bound=Base)


def get(session: Session, table: type[T], row_id: int) -> T | None:
    return session.get(table, row_id)


def get_by_external_id(session: Session, table: type[T], external_id: str) -> T | None:
    return session.scalars(select(table).where(table.external_id == external_id)).first()


def page(session: Session, stmt: Select[Any], limit: int, offset: int) -> tuple[Sequence[Any], int]:
    """One page of `stmt` and the total count of rows it matches."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = session.scalars(stmt.limit(limit).offset(offset)).all()
    return items, total


def contains(column: Any, text: str) -> Any:
    """Case-insensitive substring match that works the same on SQLite and PostgreSQL."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped.lower()}%", escape="\\")


def insert_batched(session: Session, table: type, rows: Iterable[Mapping[str, Any]], *,
                   batch_size: int = 2_000) -> int:
    """Insert `rows` (dicts of `table`'s columns) in bulk statements of `batch_size`; how many."""
    batch: list[Mapping[str, Any]] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            session.execute(insert(table), batch)
            count, batch = count + len(batch), []
    if batch:
        session.execute(insert(table), batch)
        count += len(batch)
    return count
