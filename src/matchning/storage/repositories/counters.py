"""Change counters: one row per cached table (or part of one) that the workers' caches follow.

A writer bumps the counter in its own transaction; a reader compares one primary-key read
with the value its cache was built at. A missing row reads as 0 and is inserted by the
first bump (no migration needed for a new counter).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from matchning.storage.tables import ChangeCounterRow

SLOTS = "slots"
_DEFERRED = "matchning.deferred_counters"  # key in Session.info


def participants_of(unit_id: int) -> str:
    """The counter of one unit's participants: a write in one unit leaves every other unit's
    cached matrix valid."""
    return f"participants:{unit_id}"


def value(session: Session, name: str) -> int:
    return int(session.scalar(select(ChangeCounterRow.value)
                              .where(ChangeCounterRow.name == name)) or 0)


def bump(session: Session, name: str) -> None:
    """Add one to the counter, creating it if missing, in one statement (an upsert: two
    transactions creating the same counter cannot collide). On PostgreSQL the row stays
    locked until commit, so writers of one counter queue up while readers never wait."""
    waiting = session.info.get(_DEFERRED)
    if waiting is not None:
        waiting.add(name)
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ChangeCounterRow).values(name=name, value=1)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[ChangeCounterRow.name],
        set_={"value": ChangeCounterRow.value + 1}))


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Within the block, bumps are collected and made once each at its end (still inside the
    transaction). A bulk writer (the importer) would otherwise update one counter row once
    per row it writes: on PostgreSQL every update of a row leaves a version that the next
    update of it in the same transaction must step over."""
    if _DEFERRED in session.info:
        yield
        return
    waiting: set[str] = set()
    session.info[_DEFERRED] = waiting
    try:
        yield
    finally:
        del session.info[_DEFERRED]
    for name in sorted(waiting):
        bump(session, name)
