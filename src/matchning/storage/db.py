"""Engine and session factory. Built by the surface that needs them (app lifespan, CLI), never
at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from matchning.config import Settings

# An execution option: how a SQLite transaction begins. A request's transaction reads (the
# token) before it writes, and SQLite refuses at once, without waiting for the busy timeout,
# to turn a read transaction into a write while another connection writes: concurrent
# writes then failed with "database is locked". "IMMEDIATE" takes the write lock at BEGIN,
# so they wait their turn instead. Ignored by other databases.
SQLITE_BEGIN = "sqlite_begin"
WRITER = {SQLITE_BEGIN: "IMMEDIATE"}


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`. SQLite gets WAL, foreign keys and a busy timeout.

    Statement parameters are personal data (names, free text): they never appear in logged
    SQL nor in the text of database errors (hide_parameters)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, hide_parameters=True,
                               connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True,
                         pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
        # Let SQLAlchemy, not pysqlite, issue BEGIN so that transactions and savepoints behave.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # SQLite's own lower() folds ASCII only; text search must find "Åsa" with "åsa".
        dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - trivial
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(SQLITE_BEGIN, '')}")


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects stay readable after the unit of work commits.
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def engine_from_settings(settings: Settings) -> Engine:
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.effective_database_url, echo=settings.sql_echo)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit at the end, roll back on any error. For CLI commands and jobs."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
