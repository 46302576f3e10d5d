"""Model lifecycle under faults (issue 4), done for real: the console script in subprocesses,
real model files, real locks, a real PostgreSQL connection cut through a TCP proxy, real
signals. In every case serving goes on with the model that was active (A) and the
retrain_runs row says what happened.

A small demo world (300 participants, 18 months) is seeded once with `matchning init-db`,
`demo` and `train` and copied for each SQLite test; the PostgreSQL tests seed their own schema.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from matchning.domain.principal import SYSTEM
from matchning.errors import Conflict, ModelUnavailable
from matchning.ml import evaluate as E
from matchning.ml import registry
from matchning.ml.dates import to_date
from matchning.services import evaluation, model_admin, retraining
from matchning.services.context import Context
from matchning.services.retrain_lock import RetrainLock
from matchning.storage.db import make_engine, make_session_factory, unit_of_work
from tests.slow.lifecycle_helpers import (
    CONFLICT,
    TcpProxy,
    World,
    active_version,
    engine_of,
    pg_schema,
    runs,
    schema_url,
    serve_once,
    version_dirs,
    wait_for,
)

pytestmark = pytest.mark.slow

TRAIN_STEP = "tränar på hela historiken"
EVAL_STEP = "utvärderar kandidaten på det senaste fönstret"
FINISHED = ("promoted", "rejected")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, str]:
    world = World(tmp_path_factory.mktemp("lifecycle") / "template")
    return world, world.seed()


@pytest.fixture
def world_a(template: tuple[World, str], tmp_path: Path) -> tuple[World, str]:
    """A private copy of the seeded SQLite world and its active version A."""
    world, a = template
    return world.copy_to(tmp_path / "world"), a


def _assert_serves(world: World, expected: str) -> None:
    assert active_version(world) == expected
    assert serve_once(world)[0] == expected


def _json_line(output: str) -> dict:
    return json.loads(next(line for line in reversed(output.splitlines())
                           if line.startswith("{")))


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)


# 1 -------------------------------------------------------------------------------------------

def test_training_raises_midway(world_a: tuple[World, str]) -> None:
    world, a = world_a
    settings = world.settings()
    steps: list[str] = []

    def hook(step: str) -> None:
        steps.append(step)
        if step == TRAIN_STEP:
            raise RuntimeError("träningen föll mitt i (testets krok)")

    with engine_of(world) as engine:
        factory = make_session_factory(engine)
        with pytest.raises(RuntimeError, match="testets krok"):
            retraining.retrain(factory, engine, settings, trigger="cli", hook=hook)
        assert steps[-1] == TRAIN_STEP and steps[0] == "läser historiken"

        (failed,) = runs(world)
        assert failed["status"] == "failed", failed
        assert failed["reason"] == "RuntimeError: träningen föll mitt i (testets krok)"
        assert failed["progress"] == TRAIN_STEP and failed["finished_at"] is not None
        assert failed["candidate_version"] is None and failed["active_version"] == a
        assert version_dirs(world) == [a]  # nothing saved, nothing left half-written
        _assert_serves(world, a)

        # The lock went with the failure: the next retrain runs to its end.
        out = retraining.retrain(factory, engine, settings, trigger="cli")
    assert out.status in FINISHED, out
    first, second = runs(world)
    assert first == failed
    assert second["status"] == out.status and second["candidate_version"] == out.candidate_version
    _assert_serves(world, out.candidate_version if out.status == "promoted" else a)


# 2 -------------------------------------------------------------------------------------------

def _damage(models_dir: Path, version: str, how: str) -> None:
    artifact = models_dir / version / registry.ARTIFACT
    meta_path = models_dir / version / registry.METADATA
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["version"] = version
    if how == "truncated":
        data = artifact.read_bytes()
        artifact.write_bytes(data[: len(data) // 2])
    elif how == "bytes_flipped":
        data = bytearray(artifact.read_bytes())
        for i in range(len(data) // 2, len(data) // 2 + 16):
            data[i] ^= 0xFF
        artifact.write_bytes(bytes(data))
    elif how == "sha256_edited":
        meta["sha256"] = ("0" if meta["sha256"][0] != "0" else "1") + meta["sha256"][1:]
    elif how == "other_libraries":
        meta["libraries"] = {**meta["libraries"], "scikit-learn": "0.0.1"}
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize("how", ["truncated", "bytes_flipped", "sha256_edited",
                                 "other_libraries"])
def test_damaged_version_is_refused_and_never_served(world_a: tuple[World, str], how: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    world, a = world_a
    b = "20991231T235959Z-damag"  # newer than A, a byte copy of it, then damaged
    shutil.copytree(world.models_dir / a, world.models_dir / b)
    _damage(world.models_dir, b, how)
    expected = "biblioteksversioner" if how == "other_libraries" else "kontrollsumman"

    with pytest.raises(ModelUnavailable, match=expected):
        registry.load(world.models_dir, b)

    # Promotion refuses it, through the service and through the command.
    settings = world.settings()
    with (engine_of(world) as engine,
          pytest.raises(Conflict, match="kan inte aktiveras"),
          unit_of_work(make_session_factory(engine)) as session):
        model_admin.promote(Context(session=session, principal=SYSTEM, settings=settings), b)
    done = world.run("models", "promote", b, check=False, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Versionen kan inte aktiveras" in done.stderr and expected in done.stderr
    _assert_serves(world, a)

    # Another host writes the pointer directly: a matcher already serving A keeps serving A
    # and says why; one with nothing loaded answers "model unavailable" rather than guess.
    version, matcher = serve_once(world)
    assert version == a
    with engine_of(world) as engine, engine.begin() as conn:
        conn.execute(text("UPDATE active_model SET version = :b WHERE name = 'default'"),
                     {"b": b})
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="matchning.matcher"):
        assert serve_once(world, matcher)[0] == a
        assert serve_once(world, matcher)[0] == a  # every request, not only the first
    errors = [r.getMessage() for r in caplog.records
              if r.name == "matchning.matcher" and r.levelno == logging.ERROR]
    assert errors and all(b in m and f"still serving {a}" in m for m in errors), errors
    with pytest.raises(ModelUnavailable):
        serve_once(world)


# 3 -------------------------------------------------------------------------------------------

def test_worse_candidate_is_rejected(world_a: tuple[World, str], tmp_path: Path) -> None:
    """A' is trained on the history as it stood before the test window (as last week's model
    was), and made active. Then the training part of the history is scrambled (the slots of
    the placements known before the test window are shuffled), so a candidate learns noise
    and ranks the new, untouched placements worse than A'. The two are compared only on
    placements newer than A's training window, which neither has seen."""
    world, _ = world_a
    settings = world.settings()
    with engine_of(world) as engine:
        with unit_of_work(make_session_factory(engine)) as session:
            inp = evaluation.inputs(Context(session=session, principal=SYSTEM,
                                            settings=settings))
        cut, train, test = E.window(inp.rows)
    a = _train_before(world, to_date(cut), tmp_path / "before.sqlite3")
    with engine_of(world) as engine:
        ids = sorted(int(i) for i in train.loc[train["source"] == "placement", "placement_id"])
        assert len(ids) > 100 and len(test) > 30
        with engine.begin() as conn:
            rows = conn.execute(text("SELECT id, slot_id FROM placements WHERE id IN "
                                     f"({','.join(map(str, ids))}) ORDER BY id")).all()
            slots = [r.slot_id for r in rows]
            random.Random(4).shuffle(slots)
            conn.execute(text("UPDATE placements SET slot_id = :s WHERE id = :i"),
                         [{"s": s, "i": r.id} for r, s in zip(rows, slots, strict=True)])

    # Calibration and coverage limits opened wide so the comparison with A is what decides.
    done = world.run("retrain", "--json", timeout=180, promotion_max_ece=0.9,
                     promotion_min_coverage_ratio=0, promotion_tolerance=0.01)
    out = _json_line(done.stdout)
    assert out["status"] == "rejected", out
    assert out["reason"].startswith("sämre än den aktiva modellen: NDCG@10"), out
    same = out["candidate_metrics"]["same_window"]
    assert same["ndcg@10"] < out["active_metrics"]["ndcg@10"] - 0.01
    assert same["test_placements"] == out["active_metrics"]["test_placements"] >= 30

    (row,) = runs(world)
    assert row["status"] == "rejected" and row["reason"] == out["reason"]
    assert row["active_version"] == a and row["trigger"] == "cli"
    cand = row["candidate_version"]
    assert cand == out["candidate_version"] and cand != a
    assert {a, cand} <= set(version_dirs(world))
    _, meta = registry.load(world.models_dir, cand)  # saved complete, just not active
    assert meta["gate"]["promote"] is False and meta["gate"]["active_version"] == a
    _assert_serves(world, a)


def _train_before(world: World, day: date, path: Path) -> str:
    """Train a version on a copy of the database without the placements and "passar inte"
    marks from `day` on, then promote it in the real one; returns its version."""
    src = sqlite3.connect(world.data_dir / "matchning.sqlite3")
    dst = sqlite3.connect(path)
    src.backup(dst)
    src.close()
    late = "SELECT id FROM placements WHERE proposed_on >= :d"
    with dst:
        dst.execute(f"DELETE FROM placement_events WHERE placement_id IN ({late})",
                    {"d": day.isoformat()})
        dst.execute("DELETE FROM placements WHERE proposed_on >= :d", {"d": day.isoformat()})
        dst.execute("DELETE FROM feedback WHERE created_at >= :d", {"d": day.isoformat()})
    dst.close()
    out = _json_line(world.run("train", "--json", url=f"sqlite:///{path}").stdout)
    world.run("models", "promote", out["version"])
    assert active_version(world) == out["version"]
    return out["version"]


# 4 -------------------------------------------------------------------------------------------

def _two_retrains_at_once(world: World, a: str) -> None:
    procs = [world.popen("retrain", "--json", log=f"retrain-{i}.log") for i in range(2)]
    try:
        codes = [p.wait(timeout=180) for p, _ in procs]
    finally:
        for p, _ in procs:
            _stop(p)
    logs = [path.read_text() for _, path in procs]
    assert sorted(codes) == [0, 1], logs
    winner, loser = logs[codes.index(0)], logs[codes.index(1)]
    assert f"Fel: {CONFLICT}" in loser, loser
    assert "Traceback" not in loser, loser
    out = _json_line(winner)
    (row,) = runs(world)
    assert row["id"] == out["run_id"] and row["status"] == out["status"] in FINISHED, row
    assert row["trigger"] == "cli" and row["finished_at"] is not None
    _assert_serves(world, out["candidate_version"] if out["status"] == "promoted" else a)


def test_two_retrains_at_once_sqlite(world_a: tuple[World, str]) -> None:
    _two_retrains_at_once(*world_a)


def test_two_retrains_at_once_postgres(tmp_path: Path) -> None:
    with pg_schema() as (schema, base):
        world = World(tmp_path / "world", url=schema_url(base, schema))
        a = world.seed()
        _two_retrains_at_once(world, a)


# 5 -------------------------------------------------------------------------------------------

def test_database_cut_during_retrain_postgres(tmp_path: Path) -> None:
    with pg_schema() as (schema, base):
        world = World(tmp_path / "world", url=schema_url(base, schema))  # direct: to observe
        a = world.seed()
        real = make_url(base)
        proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432))
        via_proxy = schema_url(base, schema, port=proxy.port)
        proc = None
        try:
            proc, log = world.popen("retrain", log="retrain-cut.log", url=via_proxy,
                                    retrain_failure_record_seconds=60)
            wait_for("the candidate evaluation step", lambda: any(
                r["progress"] == EVAL_STEP for r in runs(world)), timeout=90)
            proxy.cut()
            # Keep the database away until the run has tried (and failed) to reach it, and a
            # little longer, so the failure record has to wait for it to come back.
            wait_for("the retrain to hit the cut", lambda: proxy.refused >= 1, timeout=60)
            assert proc.poll() is None, log.read_text()
            time.sleep(3)
            assert runs(world)[-1]["status"] == "running"
            refused_while_cut = proxy.refused
            proxy.restore()
            code = proc.wait(timeout=60)
            output = log.read_text()
            assert code == 1, output
            assert refused_while_cut >= 2, (refused_while_cut, output)  # it retried
            (row,) = runs(world)
            assert row["status"] == "failed" and row["finished_at"] is not None, row
            assert row["reason"].startswith("OperationalError"), row
            assert row["candidate_version"] is None
            assert version_dirs(world) == [a]  # nothing half-written, nothing new active
            _assert_serves(world, a)
            registry.load(world.models_dir, a)

            # The database is back and the lock went with the dead connection.
            done = world.run("retrain", "--json", url=via_proxy, timeout=180)
            out = _json_line(done.stdout)
            assert out["status"] in FINISHED, out
            assert [r["status"] for r in runs(world)] == ["failed", out["status"]]
            _assert_serves(world, out["candidate_version"] if out["status"] == "promoted"
                           else a)
        finally:
            if proc is not None:
                _stop(proc)
            proxy.close()


# 6 -------------------------------------------------------------------------------------------

def test_scheduler_killed_mid_run(world_a: tuple[World, str]) -> None:
    world, a = world_a
    proc, log = world.popen("scheduler", log="scheduler.log", retrain_interval_seconds=1)
    try:
        row = wait_for("a scheduled run in its training step", lambda: next(
            (r for r in runs(world) if r["status"] == "running"
             and r["progress"] == TRAIN_STEP), None), timeout=90)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        _stop(proc)
    assert row["trigger"] == "scheduler" and row["pid"] == proc.pid, log.read_text()
    (stale,) = runs(world)
    assert stale["status"] == "running"  # nobody was left to record it

    # Whatever is on disk, the active version is a complete directory that loads.
    assert active_version(world) == a
    assert not a.startswith(".tmp-")
    assert {registry.ARTIFACT, registry.METADATA} <= {
        p.name for p in (world.models_dir / a).iterdir()}
    registry.load(world.models_dir, a)
    assert all(v["version"] == a for v in registry.versions(world.models_dir))
    _assert_serves(world, a)

    # The kernel released the lock: a new retrain runs, and marks the lost run as failed.
    done = world.run("retrain", "--json", timeout=180)
    out = _json_line(done.stdout)
    first, second = runs(world)
    assert first["id"] == stale["id"] and first["status"] == "failed"
    assert "processen avbröts" in first["reason"] and first["finished_at"] is not None
    assert second["id"] == out["run_id"] and second["status"] == out["status"] in FINISHED
    _assert_serves(world, out["candidate_version"] if out["status"] == "promoted" else a)


# 7 -------------------------------------------------------------------------------------------

def test_scheduler_runs_and_stops_on_sigterm(world_a: tuple[World, str]) -> None:
    """One scheduled run finishes; SIGTERM arrives while the next is under way: that run is
    allowed to finish, then the process exits 0 and says it stopped."""
    world, a = world_a
    proc, log = world.popen("scheduler", log="scheduler.log", retrain_interval_seconds=2)
    try:
        first = wait_for("a scheduled run to finish", lambda: next(
            (r for r in runs(world) if r["status"] in FINISHED), None), timeout=120)
        second = wait_for("the next scheduled run to be under way", lambda: next(
            (r for r in runs(world) if r["id"] > first["id"] and r["status"] == "running"),
            None), timeout=30, every=0.05)
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        code = proc.wait(timeout=90)
        stopped_in = time.monotonic() - t0
    finally:
        _stop(proc)
    output = log.read_text()
    assert code == 0, output
    assert "signal SIGTERM: stopping the scheduler" in output and "scheduler stopped" in output
    assert first["trigger"] == "scheduler" and first["finished_at"] is not None
    assert f"scheduled retrain {first['id']}: {first['status']}" in output
    rows = runs(world)
    assert [r["id"] for r in rows] == [first["id"], second["id"]], rows
    assert all(r["status"] in FINISHED and r["trigger"] == "scheduler"
               and r["finished_at"] is not None for r in rows), rows
    assert f"scheduled retrain {second['id']}: {rows[1]['status']}" in output
    assert stopped_in < 60, stopped_in
    promoted = [r["candidate_version"] for r in rows if r["status"] == "promoted"]
    _assert_serves(world, promoted[-1] if promoted else a)


# found on the way ------------------------------------------------------------------------------

def test_init_db_with_a_percent_in_the_database_url(tmp_path: Path) -> None:
    """The per-schema URLs above carry `options=-csearch_path%3D...`; a "%" in the URL (that,
    a percent-encoded password, a directory name) broke `matchning init-db` with ConfigParser's
    "invalid interpolation syntax" until storage.migrate escaped it."""
    world = World(tmp_path / "100%")
    world.root.mkdir()
    done = world.run("init-db", timeout=60)
    assert "Databasen är migrerad" in done.stdout, done.stdout + done.stderr
    assert active_version(world) is None  # migrated: the lifecycle tables are there


def test_postgres_retrain_lock_is_per_schema(tmp_path: Path) -> None:
    """Advisory locks are database-wide; installations (and test processes) in their own
    schemas of one database must not block each other's retrains, while two takers in the same
    schema still exclude each other. (Before the lock key included the schema, a retrain in
    one schema made every other schema's retrain fail with "En omträning pågår redan".)"""
    with pg_schema() as (x, base), pg_schema() as (y, _):
        settings = World(tmp_path).settings()
        engines = [make_engine(schema_url(base, s)) for s in (x, y, x)]
        locks = [RetrainLock(e, settings) for e in engines]
        try:
            assert locks[0].try_acquire()
            assert locks[1].try_acquire(), "a retrain in another schema blocked this one"
            assert not locks[2].try_acquire()  # same schema: still one at a time
            locks[0].release()
            assert locks[2].try_acquire()
        finally:
            for lock in locks:
                lock.release()
            for e in engines:
                e.dispose()
