"""No personal data in the logs, whatever level an operator turns them to.

- uvicorn's access log keeps the path and the names of query parameters, not their values
  (a search `?q=Åsa Öberg` is a name);
- SQLAlchemy's DEBUG level would print every result row: those records are dropped
  (statement parameters are hidden by the engine itself, see storage.db.make_engine).
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"
SQL_LOGGER = "sqlalchemy.engine.Engine"
HIDDEN = "…"


def redact_query(path: str) -> str:
    """'/x?q=Åsa&limit=5' -> '/x?q=…&limit=…'."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    names = [part.split("=", 1)[0] for part in query.split("&") if part]
    return base + "?" + "&".join(f"{name}={HIDDEN}" for name in names)


class RedactQueryStrings(logging.Filter):
    """Rewrites uvicorn's access-log record, whose third argument is the path with query."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


class DropResultRows(logging.Filter):
    """SQLAlchemy logs each fetched row as ("Row %r", row) at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Row %r"


def install() -> None:
    """Idempotent; filters on the loggers themselves survive uvicorn's dictConfig."""
    for name, kind in ((ACCESS_LOGGER, RedactQueryStrings), (SQL_LOGGER, DropResultRows)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
