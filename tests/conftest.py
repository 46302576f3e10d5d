"""Shared fixtures: a real schema built once per backend, each test isolated.

SQLite: each test gets a copy of a migrated template file. PostgreSQL (when
MATCHNING_TEST_POSTGRES_URL is set): one schema per test process, migrated once, emptied after
each test. With CI=true a missing or unreachable PostgreSQL fails the run loudly.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.storage import migrate
from matchning.storage.db import make_engine, make_session_factory
from matchning.storage.tables import Base
from tests.factories import World

PG_URL = os.environ.get("MATCHNING_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not PG_URL:
        raise pytest.UsageError("CI=true but MATCHNING_TEST_POSTGRES_URL is not set: the "
                                "PostgreSQL tests must run in CI.")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _pg_schema_url() -> str:
    # Worker and process id: parallel runs (xdist workers, two developers) never share a schema.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"matchning_test_{worker}_{os.getpid()}"


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true: MATCHNING_TEST_POSTGRES_URL must be set")
        pytest.skip("PostgreSQL tests skipped: set MATCHNING_TEST_POSTGRES_URL "
                    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run them")
    schema = _pg_schema_url()
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # unreachable server: loud in CI, a clear skip elsewhere
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable ({type(exc).__name__}); tests skipped")
    admin.dispose()
    from sqlalchemy import create_engine

    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"},
                           pool_pre_ping=True)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _truncate(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@contextmanager
def backend_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of the fixture's backend (request.param), cleaned after."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template, path)
        eng = make_engine(f"sqlite:///{path}")
        try:
            yield eng
        finally:
            eng.dispose()
    else:
        eng = request.getfixturevalue("pg_engine")
        try:
            yield eng
        finally:
            _truncate(eng)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with backend_engine(request, tmp_path) as eng:
        yield eng


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(environment="test", data_dir=tmp_path, models_dir=tmp_path / "models",
                    secret_key="test-secret-key")


@pytest.fixture
def session_factory(engine: Engine):
    return make_session_factory(engine)


@pytest.fixture
def world(session_factory, settings: Settings) -> World:
    return World(session_factory, settings)


@pytest.fixture
def app(engine: Engine, settings: Settings):
    return create_app(settings=settings, engine=engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c
