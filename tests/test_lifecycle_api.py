"""The model lifecycle over the API: versions, promote, rollback, background retrain, hot swap.

One demo world per backend (module scope) with three saved versions: A trained by
`services.training.train` (active), B from a gated `retraining.retrain`, C trained again
without activating it. A background retrain needs committed data and connections of its own,
so the tests do not run in a rolled-back transaction; instead each starts from the same state:
A active as the only activation, and no runs, activations or audit rows but the fixture's.
Versions a test saves stay on disk, so assertions about the list say "contains".

The services' clock is pinned to the world's last day, as in test_recommendations_api.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.domain.vocab import ParticipantStatus, Role
from matchning.ml.registry import ARTIFACT, METADATA
from matchning.services import model_admin, retraining, training
from matchning.services.context import Context
from matchning.services.retrain_lock import RetrainLock
from matchning.storage.db import make_session_factory, unit_of_work
from matchning.storage.repositories import history, models
from matchning.storage.tables import (
    ActiveModelRow,
    AuditRow,
    ModelActivationRow,
    RetrainRunRow,
)
from tests.conftest import DEMO_TODAY, backend_engine, seed_and_train
from tests.factories import Actor, World
from tests.helpers_api import API, assert_error, quick_user

UNKNOWN = "20200101T000000Z-000000"




@dataclass
class Lifecycle:
    client: TestClient
    engine: Engine
    factory: sessionmaker[Session]
    settings: Settings
    a: str
    b: str
    c: str
    admin: Actor
    cons: Actor
    participant: int  # a waiting participant of the consultant's unit
    baseline: dict[str, int]

    def get(self, url: str, **params: Any) -> Response:
        return self.client.get(API + url, headers=self.admin.headers, params=params)

    def post(self, url: str) -> Response:
        return self.client.post(API + url, headers=self.admin.headers)

    def active(self) -> str | None:
        with self.factory() as session:
            row = models.active_model(session)
            return row.version if row else None

    def since_baseline(self, table: Any) -> list[Any]:
        with self.factory() as session:
            return list(session.scalars(select(table).where(
                table.id > self.baseline[table.__tablename__]).order_by(table.id)))

    def reset(self) -> None:
        """A active as the only activation; the fixture's runs and audit rows only."""
        with unit_of_work(self.factory) as session:
            for table in (ModelActivationRow, RetrainRunRow, AuditRow):
                session.execute(delete(table).where(
                    table.id > self.baseline[table.__tablename__]))
            row = session.get(ActiveModelRow, models.NAME)
            assert row is not None
            row.version = self.a

    def finished(self, job_id: int, timeout: float = 120) -> dict[str, Any]:
        """The run once it is no longer running, and its lock free again."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.get(f"/admin/jobs/{job_id}")
            assert r.status_code == 200, r.text
            if r.json()["status"] != "running":
                break
            assert time.monotonic() < deadline, f"run {job_id} still running: {r.json()}"
            time.sleep(0.2)
        lock = RetrainLock(self.engine, self.settings)
        while not lock.try_acquire():  # released in execute()'s `finally`, just after
            assert time.monotonic() < deadline, "the retrain lock was not released"
            time.sleep(0.05)
        lock.release()
        return r.json()


def _max_ids(session: Session) -> dict[str, int]:
    return {t.__tablename__: session.scalar(select(func.max(t.id))) or 0
            for t in (RetrainRunRow, AuditRow)}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def lifecycle_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          frozen_day: None, own_retrain_lock_key: None) -> Iterator[Lifecycle]:
    tmp = tmp_path_factory.mktemp("lifecycle")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        first, unit_id = seed_and_train(engine, settings)
        factory = make_session_factory(engine)
        with factory() as session:
            participant = history.participant_rows(
                session, unit_id=unit_id, status=ParticipantStatus.waiting.value)[0].id
            train_activation = session.scalar(select(func.max(ModelActivationRow.id)))
        b = retraining.retrain(factory, engine, settings, trigger="cli").candidate_version
        with unit_of_work(factory) as session:
            c = training.train(Context(session=session, principal=SYSTEM, settings=settings),
                               activate_if_none=False).version
        assert b is not None and len({first.version, b, c}) == 3
        people = World(factory, settings)
        admin = quick_user(people, Role.system_admin)
        cons = quick_user(people, Role.consultant, unit_id=unit_id)
        with factory() as session:
            baseline = {**_max_ids(session), ModelActivationRow.__tablename__: train_activation}
        with TestClient(create_app(settings=settings, engine=engine)) as client:
            yield Lifecycle(client, engine, factory, settings, first.version, b, c, admin, cons,
                            participant, baseline)


@pytest.fixture
def lc(lifecycle_world: Lifecycle) -> Iterator[Lifecycle]:
    lifecycle_world.reset()
    yield lifecycle_world
    lifecycle_world.reset()


def _copy_version(lc: Lifecycle, source: str, **meta: Any) -> str:
    """A new version directory copied from `source`, with metadata fields changed."""
    root = Path(lc.settings.models_dir)
    name = f"kopia-{uuid.uuid4().hex[:8]}"
    shutil.copytree(root / source, root / name)
    path = root / name / METADATA
    path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")),
                                "version": name, **meta}), encoding="utf-8")
    return name


def _recommended_version(client: TestClient, lc: Lifecycle) -> str:
    r = client.get(f"{API}/participants/{lc.participant}/recommendations",
                   headers=lc.cons.headers, params={"k": 3})
    assert r.status_code == 200, r.text
    return r.json()["model_version"]


# --- versions, promote, rollback -------------------------------------------------------------

def test_list_show_promote_rollback_round_trip(lc: Lifecycle) -> None:
    listed = lc.get("/admin/models").json()
    by_version = {m["version"]: m for m in listed}
    assert {lc.a, lc.b, lc.c} <= set(by_version)
    assert [m["version"] for m in listed if m["active"]] == [lc.a]
    assert [m["created_at"] for m in listed] == sorted((m["created_at"] for m in listed),
                                                       reverse=True)
    a = by_version[lc.a]
    assert a["estimator"] and a["rows"]["rows"] > 0
    assert a["training_window"]["from"] < a["training_window"]["to"] <= DEMO_TODAY.isoformat()
    assert a["metrics"] is None  # `train` evaluates nothing; a retrain does
    assert 0 <= by_version[lc.b]["metrics"]["ndcg@10"] <= 1
    assert by_version[lc.b]["metrics"]["rule_violations"] == 0

    shown = lc.get(f"/admin/models/{lc.b}").json()
    assert shown["version"] == lc.b and shown["active"] is False
    assert shown["metadata"]["gate"]["active_version"] == lc.a
    assert {"sha256", "libraries", "features", "evaluation"} <= set(shown["metadata"])
    assert lc.get(f"/admin/models/{lc.a}").json()["active"] is True

    steps = [(f"/admin/models/{lc.b}/promote", lc.b), (f"/admin/models/{lc.c}/promote", lc.c),
             ("/admin/models/rollback", lc.b), ("/admin/models/rollback", lc.a)]
    for url, expected in steps:
        r = lc.post(url)
        assert r.status_code == 200, r.text
        assert r.json()["version"] == expected and r.json()["active"] is True
        assert lc.active() == expected
        assert [m["version"] for m in lc.get("/admin/models").json() if m["active"]] == \
            [expected]
    # A's own activation (by `train`) has no predecessor.
    err = assert_error(lc.post("/admin/models/rollback"), 409, code="conflict")
    assert "ingen tidigare version" in err["message"]
    assert lc.active() == lc.a

    assert [(x.version, x.previous, x.action, x.activated_by)
            for x in lc.since_baseline(ModelActivationRow)] == [
        (lc.b, lc.a, "promote", lc.admin.user_id), (lc.c, lc.b, "promote", lc.admin.user_id),
        (lc.b, lc.c, "rollback", lc.admin.user_id), (lc.a, lc.b, "rollback", lc.admin.user_id)]
    assert [(x.action, x.subject_type, x.subject_id, x.model_version, x.user_id)
            for x in lc.since_baseline(AuditRow)] == [
        ("model.promote", "model", lc.b, lc.b, lc.admin.user_id),
        ("model.promote", "model", lc.c, lc.c, lc.admin.user_id),
        ("model.rollback", "model", lc.b, lc.b, lc.admin.user_id),
        ("model.rollback", "model", lc.a, lc.a, lc.admin.user_id)]


def test_unknown_versions_and_jobs_are_404(lc: Lifecycle) -> None:
    assert_error(lc.get(f"/admin/models/{UNKNOWN}"), 404, code="not_found")
    assert_error(lc.post(f"/admin/models/{UNKNOWN}/promote"), 404, code="not_found")
    assert_error(lc.post("/admin/models/.tmp-x/promote"), 404, code="not_found")
    assert_error(lc.get("/admin/jobs/987654"), 404, code="not_found")
    assert lc.active() == lc.a


def test_promote_refuses_a_version_that_does_not_load(lc: Lifecycle) -> None:
    corrupt = _copy_version(lc, lc.c)
    artifact = Path(lc.settings.models_dir) / corrupt / ARTIFACT
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    other_libraries = _copy_version(lc, lc.c, libraries={"scikit-learn": "0.24.2",
                                                         "numpy": "1.19.5", "scipy": "1.5.4"})
    assert _recommended_version(lc.client, lc) == lc.a
    for version, words in ((corrupt, "kontrollsumman"),
                           (other_libraries, "andra biblioteksversioner")):
        err = assert_error(lc.post(f"/admin/models/{version}/promote"), 409, code="conflict")
        assert err["message"].startswith("Versionen kan inte aktiveras") and words in \
            err["message"], err
        # still listed, so an admin sees it and why it cannot be used
        assert lc.get(f"/admin/models/{version}").json()["active"] is False
    assert lc.active() == lc.a
    assert [m["version"] for m in lc.get("/admin/models").json() if m["active"]] == [lc.a]
    assert lc.since_baseline(ModelActivationRow) == []
    assert not [x for x in lc.since_baseline(AuditRow) if x.action.startswith("model.")]
    assert _recommended_version(lc.client, lc) == lc.a


# --- retrain runs ----------------------------------------------------------------------------

def test_retrain_runs_in_the_background_one_at_a_time(lc: Lifecycle,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The run waits after its first step until the test has seen it running and has been
    refused a second one; then it goes on to a decision."""
    reached, go_on = threading.Event(), threading.Event()
    execute = retraining.execute

    def held(*args: Any, **kw: Any) -> retraining.RetrainOutcome:
        def hook(step: str) -> None:
            if not reached.is_set():
                reached.set()
                go_on.wait(60)
        return execute(*args, hook=hook, **kw)

    monkeypatch.setattr(retraining, "execute", held)
    # A token's first use is a write (last_used_at): the request must not hold a transaction
    # open across begin()'s commit, or SQLite refuses that write afterwards (stale snapshot).
    fresh = quick_user(World(lc.factory, lc.settings), Role.system_admin)
    try:
        r = lc.client.post(f"{API}/admin/retrain", headers=fresh.headers)
        assert r.status_code == 202, r.text
        assert set(r.json()) == {"job_id", "status"} and r.json()["status"] == "running"
        job_id = r.json()["job_id"]
        assert reached.wait(60)
        running = lc.get(f"/admin/jobs/{job_id}").json()
        assert running["status"] == "running" and running["trigger"] == "api"
        assert running["progress"] == "läser historiken" and running["finished_at"] is None
        assert running["active_version"] == lc.a

        err = assert_error(lc.post("/admin/retrain"), 409, code="retrain_running")
        assert err["details"][0]["job_id"] == job_id
        assert "omträning pågår" in err["message"]
    finally:
        go_on.set()

    done = lc.finished(job_id)
    assert done["status"] in {"promoted", "rejected"}, done
    assert done["finished_at"] and done["progress"] == "klar" and done["reason"]
    assert done["data_rows"] > 100
    assert set(retraining.GATE_METRICS) <= set(done["candidate_metrics"])
    # A was trained on this very history: no placement is new to it, so no fair comparison.
    assert done["active_metrics"]["note"].startswith("ingen rättvis jämförelse")
    assert done["candidate_metrics"]["same_window"] is None
    assert done["active_version"] == lc.a
    new = done["candidate_version"]
    assert new not in {lc.a, lc.b, lc.c}
    expected_active = new if done["status"] == "promoted" else lc.a
    listed = {m["version"]: m for m in lc.get("/admin/models").json()}
    assert listed[new]["metrics"]["ndcg@10"] == done["candidate_metrics"]["ndcg@10"]
    assert [v for v, m in listed.items() if m["active"]] == [expected_active]
    assert lc.active() == expected_active

    jobs = lc.get("/admin/jobs", limit=1).json()
    assert [j["id"] for j in jobs["items"]] == [job_id] and jobs["total"] >= 2
    with lc.factory() as session:
        assert models.run(session, job_id).requested_by == fresh.user_id


def test_retrain_refused_while_another_process_runs_one(lc: Lifecycle) -> None:
    """A run begun elsewhere (the CLI, the scheduler) holds the lock: 409 with its id."""
    lock, run_id = retraining.begin(lc.factory, lc.engine, lc.settings, trigger="cli")
    try:
        err = assert_error(lc.post("/admin/retrain"), 409, code="retrain_running")
        assert err["details"][0]["job_id"] == run_id
        assert lc.get(f"/admin/jobs/{run_id}").json()["status"] == "running"
        assert [r.id for r in lc.since_baseline(RetrainRunRow)] == [run_id]  # none added
    finally:
        lock.release()


# --- hot swap --------------------------------------------------------------------------------

def test_every_worker_serves_the_promoted_version_without_restart(lc: Lifecycle) -> None:
    """Two apps over one database stand for two worker processes."""
    with TestClient(create_app(settings=lc.settings, engine=lc.engine)) as one, \
            TestClient(create_app(settings=lc.settings, engine=lc.engine)) as two:
        assert _recommended_version(one, lc) == _recommended_version(two, lc) == lc.a

        r = one.post(f"{API}/admin/models/{lc.b}/promote", headers=lc.admin.headers)
        assert r.status_code == 200, r.text
        assert _recommended_version(one, lc) == _recommended_version(two, lc) == lc.b

        # and back the way `matchning models promote` does it, outside both apps
        with unit_of_work(lc.factory) as session:
            model_admin.promote(Context(session=session, principal=SYSTEM,
                                        settings=lc.settings), lc.a)
        assert _recommended_version(two, lc) == _recommended_version(one, lc) == lc.a
    assert [(x.action, x.user_id) for x in lc.since_baseline(AuditRow)
            if x.action.startswith("model.")] == [("model.promote", lc.admin.user_id),
                                                  ("model.promote", None)]
