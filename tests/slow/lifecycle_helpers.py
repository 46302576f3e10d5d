"""Helpers for the model-lifecycle fault tests: a demo world made with the real console
script, a per-test PostgreSQL schema, reads of the lifecycle tables, a serving check through
services.recommendations, and a loopback TCP proxy the test can cut and restore."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, make_url, text

from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.services import recommendations
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.storage.db import make_engine, make_session_factory, unit_of_work
from tests.slow.tcp_proxy import TcpProxy as TcpProxy  # re-exported: moved to its own module

BIN = Path(sys.executable).parent / "matchning"
PG_URL = os.environ.get("MATCHNING_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
DEMO_ARGS = ["demo", "--participants", "300", "--employers", "80", "--slots", "240",
             "--months", "18", "--today", "2026-11-01"]
CONFLICT = "En omträning pågår redan"


# --- the world -----------------------------------------------------------------------------

@dataclass
class World:
    """One installation: its data and model directories and its database URL."""

    root: Path
    url: str | None = None  # None: the SQLite file in data_dir

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def db_url(self) -> str:
        return self.url or f"sqlite:///{(self.data_dir / 'matchning.sqlite3').resolve()}"

    def env(self, url: str | None = None, **extra: Any) -> dict[str, str]:
        """The environment of a `matchning` subprocess: no MATCHNING_* leaks from outside."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHNING_")}
        env.update({"MATCHNING_DATA_DIR": str(self.data_dir),
                    "MATCHNING_MODELS_DIR": str(self.models_dir),
                    "MATCHNING_ENVIRONMENT": "test", "MATCHNING_LOG_LEVEL": "INFO"})
        if url or self.url:
            env["MATCHNING_DATABASE_URL"] = url or self.url
        env.update({f"MATCHNING_{k.upper()}": str(v) for k, v in extra.items()})
        return env

    def settings(self, **overrides: Any) -> Settings:
        return Settings(environment="test", data_dir=self.data_dir, models_dir=self.models_dir,
                        database_url=self.db_url, secret_key="test-secret-key", **overrides)

    def run(self, *args: str, timeout: float = 120, check: bool = True, url: str | None = None,
            **extra: Any) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(BIN), *args], env=self.env(url, **extra), cwd=self.root,
                              capture_output=True, text=True, timeout=timeout)
        if check:
            assert done.returncode == 0, f"{args}: {done.stderr}{done.stdout}"
        return done

    def popen(self, *args: str, log: str, url: str | None = None, **extra: Any
              ) -> tuple[subprocess.Popen[str], Path]:
        """A `matchning` process whose stdout and stderr go to a file (no pipe to fill)."""
        path = self.root / log
        fh = path.open("w")
        proc = subprocess.Popen([str(BIN), *args], env=self.env(url, **extra), cwd=self.root,
                                stdout=fh, stderr=subprocess.STDOUT, text=True)
        fh.close()
        return proc, path

    def seed(self) -> str:
        """init-db, the demo world and `train`: returns the active version (model A)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.run("init-db")
        self.run(*DEMO_ARGS, "--truth", str(self.root / "truth.npz"))
        self.run("train")
        version = active_version(self)
        assert version is not None
        return version

    def copy_to(self, root: Path) -> World:
        """A copy of a SQLite world (database file, models) under `root`."""
        assert self.url is None
        shutil.copytree(self.root, root)
        return World(root)


@contextmanager
def engine_of(world: World) -> Iterator[Engine]:
    engine = make_engine(world.db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def active_version(world: World) -> str | None:
    with engine_of(world) as engine, engine.connect() as conn:
        return conn.execute(text("SELECT version FROM active_model WHERE name = 'default'")
                            ).scalar()


def runs(world: World) -> list[dict[str, Any]]:
    with engine_of(world) as engine, engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(
            "SELECT id, status, trigger, progress, reason, candidate_version, active_version, "
            "finished_at, pid FROM retrain_runs ORDER BY id"))]


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def version_dirs(world: World) -> list[str]:
    return sorted(p.name for p in world.models_dir.iterdir() if p.is_dir())


# --- serving --------------------------------------------------------------------------------

def serve_once(world: World, matcher: Matcher | None = None) -> tuple[str, Matcher]:
    """A recommendations call through services.recommendations with `matcher` (a new one by
    default), as the API makes it: returns the model version that answered."""
    matcher = matcher or Matcher(world.models_dir)
    settings = world.settings()
    with engine_of(world) as engine, unit_of_work(make_session_factory(engine)) as session:
        pid = session.execute(text("SELECT id FROM participants WHERE status = :s "
                                   "ORDER BY id LIMIT 1"), {"s": "väntande"}).scalar()
        assert pid is not None
        ctx = Context(session=session, principal=SYSTEM, settings=settings,
                      matcher=matcher)
        found = recommendations.recommend(ctx, pid, 5)
        assert found.items, "the recommendations call answered with no slots"
        return found.model_version, matcher


# --- PostgreSQL -----------------------------------------------------------------------------

def require_postgres() -> str:
    """The base URL; a clear skip outside CI, a loud failure in CI."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true: MATCHNING_TEST_POSTGRES_URL must be set for the PostgreSQL "
                        "lifecycle fault tests")
        pytest.skip("PostgreSQL lifecycle fault tests skipped: set MATCHNING_TEST_POSTGRES_URL "
                    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run them")
    return PG_URL


def schema_url(base: str, schema: str, *, port: int | None = None) -> str:
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    if port is not None:
        url = url.set(host="127.0.0.1", port=port)
    return url.render_as_string(hide_password=False)


@contextmanager
def pg_schema() -> Iterator[tuple[str, str]]:
    """A fresh schema of our own in the shared test database: (schema, base URL). Dropped
    after; the database itself is never touched."""
    base = require_postgres()
    schema = f"lifecycle_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL at {base} is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable ({type(exc).__name__}); test skipped")
    try:
        yield schema, base
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
