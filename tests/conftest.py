"""Shared fixtures: a real schema built once per backend, each test isolated.

SQLite: each test gets a copy of a migrated template file. PostgreSQL (when
MATCHNING_TEST_POSTGRES_URL is set): one schema per test process, migrated once, emptied after
each test. With CI=true a missing or unreachable PostgreSQL fails the run loudly.
"""

from __future__ import annotations

import os
import shutil
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from matchning.api.app import create_app
from matchning.config import Settings, get_settings
from matchning.demo import DemoConfig
from matchning.services.context import Context
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


@pytest.fixture(scope="session")
def own_retrain_lock_key() -> Iterator[None]:
    """A PostgreSQL retrain lock of this test process's own.

    The advisory lock is per database, and parallel test processes share one database (each in
    its own schema), so one worker's retrain would make another's answer "a retrain is running".
    Opt-in: processes a test starts keep the real key (tests of the lock across processes).
    """
    from matchning.services import retrain_lock

    key = retrain_lock.ADVISORY_KEY ^ zlib.crc32(_pg_schema_url().encode())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(retrain_lock, "ADVISORY_KEY", key)
        yield


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


# A trained demo world small enough for the fast suite; its history ends on DEMO_TODAY.
DEMO_TODAY = date(2026, 11, 1)
TRAINED_WORLD = DemoConfig(participants=300, employers=80, slots=240, months=18, seed=7,
                           today=DEMO_TODAY)


@pytest.fixture(scope="module")
def frozen_day() -> Iterator[None]:
    """The services' clock stands still on DEMO_TODAY for the module, so the pinned world's
    slots stay in their periods whenever the tests run."""
    noon = datetime(DEMO_TODAY.year, DEMO_TODAY.month, DEMO_TODAY.day, 12, tzinfo=UTC)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Context, "today", property(lambda self: DEMO_TODAY))
        mp.setattr(Context, "now", staticmethod(lambda: noon))
        yield


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's settings point at a fresh SQLite database and models directory."""
    monkeypatch.setenv("MATCHNING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MATCHNING_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("MATCHNING_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("MATCHNING_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def seed_and_train(engine: Engine, settings: Settings):
    """TRAINED_WORLD seeded into `engine` with a trained, active model: (the training result,
    the id of the world's unit demo-u-1)."""
    from sqlalchemy import select

    from matchning.demo import seed_demo_world
    from matchning.demo.config import UNIT_ID
    from matchning.domain.principal import SYSTEM
    from matchning.services import training
    from matchning.storage.db import unit_of_work
    from matchning.storage.tables import UnitRow

    seed_demo_world(engine, TRAINED_WORLD, truth_path=None)
    with unit_of_work(make_session_factory(engine)) as session:
        result = training.train(Context(session=session, principal=SYSTEM, settings=settings))
        unit_id = session.scalars(select(UnitRow.id).where(
            UnitRow.external_id == UNIT_ID.format(1))).one()
    assert result.activated
    return result, unit_id

