"""Schemathesis against the app's own OpenAPI, in process, with a token of each role.

Each role gets its own copy of one seeded, trained demo world (two units) and runs every
schemathesis phase on every /api/v1 operation: the schema's examples, coverage (boundary and
invalid values, missing headers, wrong methods), fuzzing, and stateful sequences over the
links schemathesis infers. Real ids of the world are fed to the id parameters (most of the
time; the rest are generated), so that most requests get past "not found" and reach the
services. The checks: no 5xx, every status documented, every body (2xx and error) matching
its documented schema, content types as documented. The share of 2xx per role is printed;
among the schema-valid cases it has a floor for the roles that can do things, so that a run
which is mostly 401/403/404/422 fails. All eight roles on SQLite, four on PostgreSQL.

Deterministic (a fixed seed, derandomized), bounded by MAX_EXAMPLES per operation; up to a
minute and a half per role on 2 cores. MATCHNING_SCHEMATHESIS_DETAIL=1 prints the statuses
of the schema-valid cases per operation.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from sqlalchemy import Engine, create_engine, func, make_url, select, update

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.demo import DemoConfig, seed_demo_world
from matchning.demo.config import UNIT_ID
from matchning.domain.principal import SYSTEM
from matchning.domain.vocab import Role
from matchning.services import training
from matchning.services.context import Context
from matchning.storage import migrate
from matchning.storage.db import make_engine, make_session_factory, unit_of_work
from matchning.storage.tables import (
    ApiTokenRow,
    EmployerRow,
    ParticipantRow,
    PlacementRow,
    SlotRow,
    UnitRow,
    UserRow,
)
from tests.conftest import DEMO_TODAY, IN_CI, PG_URL
from tests.factories import Actor, World
from tests.helpers_api import quick_user

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("frozen_day")]

ROLES = ("anon", "cons_a", "cons_b", "emp_own", "emp_other", "admin_a", "admin_b", "sysadmin")
SEED = 20261101
MAX_EXAMPLES = 8
# The coverage phase (every boundary and invalid value of every parameter) for one role of each
# kind: input validation answers the same for every signed-in role, and the other unit's and
# the other employer's view is exercised by the fuzzing and stateful phases.
COVERAGE_ROLES = ("anon", "cons_a", "emp_own", "admin_a", "sysadmin")
# On PostgreSQL (which refuses what SQLite takes: NUL in text, ids beyond 64 bits in a
# parameter) one role of each kind, to keep the run short.
PG_ROLES = ("cons_a", "emp_own", "admin_b", "sysadmin")
# Lowest share of 2xx among the schema-valid cases, per role (measured shares less a margin;
# see docs/security.md). Invalid cases should get 4xx and are left out; anonymous callers get
# 401 everywhere but the login; the other roles still meet their scope's 403 and 404 (the ids
# fed in include another unit's and another employer's) and the services' own checks (422).
FLOOR = {"anon": 0.0, "cons_a": 0.22, "cons_b": 0.3, "emp_own": 0.12, "emp_other": 0.15,
         "admin_a": 0.25, "admin_b": 0.35, "sysadmin": 0.25}
# Starts a full retrain in a background thread of its own; tests/test_lifecycle_api.py and
# the scoping table cover it.
EXCLUDED_PATHS = ("/api/v1/admin/retrain",)
CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance",
          "content_type_conformance")
WORLD = DemoConfig(participants=300, employers=80, slots=240, months=18, units=2, seed=7,
                   today=DEMO_TODAY)


# --- the seeded world ------------------------------------------------------------------------

class SqliteStore:
    """The world in one SQLite file; each role runs on a copy of it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.world = f"sqlite:///{directory / 'world.sqlite3'}"

    def copy(self, role: str) -> str:
        target = self.directory / f"{role}.sqlite3"
        shutil.copyfile(self.directory / "world.sqlite3", target)
        return f"sqlite:///{target}"

    def close(self) -> None:
        pass


class PostgresStore:
    """The world in a database of this test's own; each role runs on a copy of it
    (CREATE DATABASE ... TEMPLATE), all dropped afterwards."""

    def __init__(self, url: str) -> None:
        self.base = make_url(url)
        self.prefix = f"matchning_st_{os.getpid()}"
        self.made: list[str] = []
        self.world = self._create("world")

    def _url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def _create(self, suffix: str, template: str | None = None) -> str:
        name = f"{self.prefix}_{suffix}"
        admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"'
                                 + (f' TEMPLATE "{template}"' if template else ""))
        admin.dispose()
        self.made.append(name)
        return self._url(name)

    def copy(self, role: str) -> str:
        return self._create(role, template=f"{self.prefix}_world")

    def close(self) -> None:
        admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in reversed(self.made):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@dataclass
class Seeded:
    store: SqliteStore | PostgresStore
    settings: Settings
    actors: dict[str, Actor]
    protected_tokens: list[int]
    dictionaries: dict[str, list[Any]]


def _ids(session, column, *where, limit: int = 8) -> list[Any]:
    return list(session.scalars(select(column).where(*where).order_by(column).limit(limit)))


def _token_id(session, user_id: int) -> int:
    return session.scalars(select(ApiTokenRow.id).where(ApiTokenRow.user_id == user_id)).one()


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def store(backend: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[SqliteStore | PostgresStore]:
    if backend == "sqlite":
        made: SqliteStore | PostgresStore = SqliteStore(tmp_path_factory.mktemp("schemathesis"))
    else:
        if not PG_URL:
            if IN_CI:
                pytest.fail("CI=true: MATCHNING_TEST_POSTGRES_URL must be set")
            pytest.skip("PostgreSQL not configured (MATCHNING_TEST_POSTGRES_URL)")
        made = PostgresStore(PG_URL)
    yield made
    made.close()


@pytest.fixture(scope="module")
def seeded(store, tmp_path_factory: pytest.TempPathFactory, frozen_day: None) -> Seeded:
    tmp = tmp_path_factory.mktemp("schemathesis-models")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    engine = make_engine(store.world)
    migrate.upgrade(engine)
    seed_demo_world(engine, WORLD, truth_path=None)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        result = training.train(Context(session=session, principal=SYSTEM, settings=settings))
        assert result.activated
    world = World(factory, settings)
    with factory() as s:
        unit_a, unit_b = (s.scalars(select(UnitRow.id).where(
            UnitRow.external_id == UNIT_ID.format(n))).one() for n in (1, 2))
        # The employers with the most placements: the one whose user acts, and another.
        busiest = list(s.scalars(
            select(SlotRow.employer_id).join(PlacementRow, PlacementRow.slot_id == SlotRow.id)
            .group_by(SlotRow.employer_id).order_by(func.count().desc(), SlotRow.employer_id)
            .limit(2)))
    e_own, e_other = busiest
    actors = {
        "cons_a": quick_user(world, Role.consultant, unit_id=unit_a),
        "cons_b": quick_user(world, Role.consultant, unit_id=unit_b),
        "emp_own": quick_user(world, Role.employer, employer_id=e_own),
        "emp_other": quick_user(world, Role.employer, employer_id=e_other),
        "admin_a": quick_user(world, Role.unit_admin, unit_id=unit_a),
        "admin_b": quick_user(world, Role.unit_admin, unit_id=unit_b),
        "sysadmin": quick_user(world, Role.system_admin),
    }
    spare = [quick_user(world, role, unit_id=unit, employer_id=employer)
             for role, unit, employer in ((Role.consultant, unit_a, None),
                                          (Role.consultant, unit_b, None),
                                          (Role.employer, None, e_own))]
    with factory() as s:
        protected = [_token_id(s, a.user_id) for a in actors.values()]
        spare_tokens = [_token_id(s, a.user_id) for a in spare]
        people = (_ids(s, ParticipantRow.id, ParticipantRow.unit_id == unit_a)
                  + _ids(s, ParticipantRow.id, ParticipantRow.unit_id == unit_b, limit=4))
        own_slots = _ids(s, SlotRow.id, SlotRow.employer_id == e_own, limit=6)
        slots = own_slots + _ids(s, SlotRow.id, SlotRow.employer_id != e_own, limit=6)
        in_a = PlacementRow.participant_id.in_(
            select(ParticipantRow.id).where(ParticipantRow.unit_id == unit_a))
        placements = (_ids(s, PlacementRow.id, PlacementRow.slot_id.in_(own_slots), limit=4)
                      + _ids(s, PlacementRow.id, in_a, PlacementRow.status.in_(
                          ("proposed", "accepted", "started")), limit=8)
                      + _ids(s, PlacementRow.id, in_a, PlacementRow.status == "completed",
                             limit=3)
                      + _ids(s, PlacementRow.id, ~in_a, limit=2))
        employers = [e_own, e_other, *_ids(s, EmployerRow.id, limit=4)]
        users = [a.user_id for a in (*actors.values(), *spare)]
        version = result.version
    engine.dispose()
    kommuner = ["0180", "0184", "1480", "0114", "0186"]
    occupations = ["4322", "9111", "5223", "9412", "5120", "2342"]
    dictionaries = {
        "participants": people, "slots": slots, "placements": placements,
        "employers": employers, "units": [unit_a, unit_b], "users": users,
        "tokens": spare_tokens + protected, "versions": [version],
        "occupations": occupations, "kommuner": kommuner,
        "postcodes": ["16970", "11122", "41319", "75320"],
        "orgnr": ["5560360793", "2120002486", "556036-0793"],
        "licences": ["B", "BE", "C", "AM"], "languages": ["en", "ar", "so", "fi", "ti"],
        "lat": [59.3326, 59.3600, 57.7089], "lon": [18.0649, 18.0000, 11.9746],
    }
    return Seeded(store, settings, actors, protected, dictionaries)


def _parameters() -> dict[str, dict[str, Any]]:
    """Which parameters draw from which list of real values, and how often."""
    bound = {
        "participants": ("path.participant_id", "query.participant_id", "body.participant_id"),
        "slots": ("path.slot_id", "query.slot_id", "body.slot_id"),
        "placements": ("path.placement_id",),
        "employers": ("path.employer_id", "query.employer_id", "body.employer_id"),
        "units": ("path.unit_id", "query.unit_id", "body.unit_id"),
        "users": ("path.user_id", "query.user_id", "body.consultant_id"),
        "tokens": ("path.token_id",),
        "versions": ("path.version",),
        "occupations": ("path.code", "body.occupation_code", "body.wished_occupations[*]",
                        "body.past_work[*].code"),
        "kommuner": ("body.kommunkod", "body.kommuner[*]", "query.kommunkod", "query.kommun"),
        "postcodes": ("path.postcode", "body.postcode"),
        "orgnr": ("body.orgnr",),
        "licences": ("body.driving_licences[*]",),
        "languages": ("body.other_languages[*]",),
        "lat": ("body.lat",), "lon": ("body.lon",),
    }
    return {key: {"dictionary": name, "probability": 0.85}
            for name, keys in bound.items() for key in keys}


# --- one run ---------------------------------------------------------------------------------

@dataclass
class Run:
    role: str
    statuses: Counter = field(default_factory=Counter)
    operations: int = 0
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per schemathesis phase
    positive_by_operation: dict[str, Counter] = field(default_factory=dict)
    # Statuses of the generated cases by generation mode: "positive" cases are valid
    # according to the schema, "negative" ones are not (and should get 4xx).
    by_mode: dict[str, Counter] = field(default_factory=lambda: {"positive": Counter(),
                                                                 "negative": Counter()})

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def share_2xx(self) -> float:
        return _share(self.statuses)

    @property
    def positive_share_2xx(self) -> float:
        return _share(self.by_mode["positive"])


def _share(statuses: Counter) -> float:
    total = sum(statuses.values())
    return sum(n for s, n in statuses.items() if 200 <= s < 300) / total if total else 0.0


class Recorder:
    """ASGI wrapper: counts the status of every /api/ response and calls `after` with it."""

    def __init__(self, app: Any, statuses: Counter,
                 after: Callable[[str, str, int], None]) -> None:
        self.app = app
        self.statuses = statuses
        self.after = after

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        seen: list[int] = []

        async def watch(message) -> None:
            if message["type"] == "http.response.start":
                seen.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if seen:
            self.statuses[seen[0]] += 1
            self.after(scope["method"], scope["path"], seen[0])


def _keep_credentials(engine: Engine, seeded: Seeded) -> Callable[[str, str, int], None]:
    """After a write to /users that succeeded, give the eight callers back their accounts and
    tokens: a run must not lock itself out by revoking its own token or deactivating its own
    caller (both are legal moves for an admin), or the rest of it tests only 401."""
    user_ids = [a.user_id for a in seeded.actors.values()]

    def after(method: str, path: str, status: int) -> None:
        if method in ("PATCH", "DELETE") and path.startswith("/api/v1/users/") \
                and 200 <= status < 300:
            with engine.begin() as conn:
                conn.execute(update(UserRow).where(UserRow.id.in_(user_ids)).values(active=True))
                conn.execute(update(ApiTokenRow).where(ApiTokenRow.id.in_(
                    seeded.protected_tokens)).values(revoked_at=None))
    return after


def _config(seeded: Seeded, role: str, token: str | None) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "phases": {"coverage": {"enabled": role in COVERAGE_ROLES}},
        # No self-registration: each run is one role, with its token (or none).
        "auth": {"auto-signup": False},
        "headers": {"Authorization": f"Bearer {token}"} if token else {},
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                       "database": "none"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "dictionaries": {name: {"values": values}
                         for name, values in seeded.dictionaries.items()},
        "parameters": _parameters(),
    })


def _failure_text(info: Any) -> str:
    return f"{info.failure.title}: {info.failure.message}\n{info.code_sample}"


def run_role(seeded: Seeded, role: str) -> Run:
    engine = make_engine(seeded.store.copy(role))
    run = Run(role)
    app = create_app(settings=seeded.settings, engine=engine)
    actor = seeded.actors.get(role)
    try:
        with TestClient(app):  # runs the lifespan: the app's state is ready
            wrapped = Recorder(app, run.statuses, _keep_credentials(engine, seeded))
            config = _config(seeded, role, actor.token if actor else None)
            schema = schemathesis.openapi.from_asgi("/openapi.json", wrapped, config=config)
            schema = schema.include(path_regex="^/api/v1/").exclude(path=list(EXCLUDED_PATHS))
            run.operations = sum(1 for _ in schema.get_all_operations())
            started = time.monotonic()
            for event in from_schema(schema).execute():
                _collect(run, event)
            run.seconds = time.monotonic() - started
    finally:
        engine.dispose()
    return run


def _collect(run: Run, event: events.EngineEvent) -> None:
    if isinstance(event, events.ScenarioFinished):
        for case_id, interaction in event.recorder.interactions.items():
            node = event.recorder.cases.get(case_id)
            meta = node.value.meta if node else None
            if interaction.response is not None and meta is not None:
                status = interaction.response.status_code
                run.by_mode[meta.generation.mode.value][status] += 1
                if meta.generation.mode.value == "positive":
                    run.positive_by_operation.setdefault(
                        node.value.operation.label, Counter())[status] += 1
        for case_id, checks in event.recorder.checks.items():
            for check in checks:
                if check.failure_info is None:
                    continue
                node = event.recorder.cases.get(case_id)
                label = node.value.operation.label if node else event.recorder.label
                key = (check.name, label, check.failure_info.failure.title)
                run.failures.setdefault(key, _failure_text(check.failure_info))
    elif isinstance(event, events.PhaseStarted):
        run.phases[event.phase.name.value] = -event.timestamp
    elif isinstance(event, events.PhaseFinished):
        run.phases[event.phase.name.value] = run.phases.get(event.phase.name.value, 0.0) \
            + event.timestamp
    elif isinstance(event, events.NonFatalError):
        run.failures.setdefault(("error", event.label, type(event.value).__name__),
                                str(event.value)[:2000])
    elif isinstance(event, events.FatalError):
        run.failures.setdefault(("fatal", "", type(event.exception).__name__),
                                str(event.exception)[:2000])
    elif isinstance(event, events.EngineFinished):
        assert event.stop_reason.value == "completed", event.stop_reason


# --- the test --------------------------------------------------------------------------------

CASES = [pytest.param("sqlite", role, id=f"sqlite-{role}") for role in ROLES] + [
    pytest.param("postgres", role, id=f"postgres-{role}", marks=pytest.mark.postgres)
    for role in PG_ROLES]


@pytest.mark.parametrize(("backend", "role"), CASES, indirect=["backend"])
def test_schemathesis_role(seeded: Seeded, backend: str, role: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    run = run_role(seeded, role)
    top = ", ".join(f"{s}: {n}" for s, n in sorted(run.statuses.items()))
    with capsys.disabled():
        print(f"\nschemathesis {backend + '/' + role:18s} {run.operations} operations, "
              f"{run.requests} requests, "
              f"2xx {run.share_2xx:.0%} (of schema-valid cases "
              f"{run.positive_share_2xx:.0%} of {sum(run.by_mode['positive'].values())}), "
              f"{run.seconds:.0f} s  [{top}]")
        valid = run.by_mode["positive"]
        allowed = Counter({k: n for k, n in valid.items() if k not in (401, 403)})
        print(f"  2xx of the schema-valid cases not refused for the role (401/403): "
              f"{_share(allowed):.0%} of {sum(allowed.values())}")
        print("  schema-valid cases: " + ", ".join(
            f"{s}: {n}" for s, n in sorted(run.by_mode["positive"].items())))
        if os.environ.get("MATCHNING_SCHEMATHESIS_DETAIL"):
            for label, counts in sorted(run.positive_by_operation.items()):
                print(f"    {label}: " + ", ".join(f"{s}: {n}" for s, n in sorted(
                    counts.items())))
        print("  phases: " + ", ".join(f"{k} {v:.0f} s" for k, v in run.phases.items()
                                       if v >= 0.5))
    problems = "\n\n".join(f"{check} on {op}: {text}"
                           for (check, op, _), text in sorted(run.failures.items()))
    assert not run.failures, f"{len(run.failures)} distinct failures:\n\n{problems}"
    assert not any(status >= 500 for status in run.statuses), run.statuses
    assert run.requests >= 4 * run.operations, run.requests
    assert run.positive_share_2xx >= FLOOR[role], (
        f"only {run.positive_share_2xx:.0%} of the schema-valid requests of {role} answered "
        f"2xx (floor {FLOOR[role]:.0%}): {run.by_mode['positive']}")
