"""The gated retraining cycle: the one function the CLI, the scheduler and the admin API call.

Build the training set from the database, evaluate the candidate on the most recent window
and the active model on the same window, fit on all the history and save the version, and
promote it only when it passes the gate. Every run is a row, whatever its end. A failure
leaves serving as it was: a version becomes active only in the run's last transaction.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.errors import ModelUnavailable, RetrainRunning
from matchning.ml import evaluate as E
from matchning.ml import registry
from matchning.ml.dates import day_number
from matchning.reference import get_reference
from matchning.services import evaluation
from matchning.services.context import Context
from matchning.services.retrain_lock import RetrainLock
from matchning.services.training import version_metadata
from matchning.storage.db import unit_of_work
from matchning.storage.repositories import audit, models

log = logging.getLogger("matchning.retrain")
GATE_METRICS = ("ndcg@10", "recall@10", "mrr", "rule_violations", "coverage", "brier", "ece")


@dataclass
class RetrainOutcome:
    run_id: int
    status: str                      # promoted, rejected, failed
    reason: str | None
    candidate_version: str | None
    candidate_metrics: dict[str, Any]
    active_metrics: dict[str, Any]


def now() -> datetime:
    return datetime.now(UTC)


def gate(candidate: dict[str, Any], active: dict[str, Any] | None, settings: Settings,
         compared: dict[str, Any] | None = None) -> tuple[bool, str]:
    """(promote?, why) — sanity first on the candidate's own window, then the comparison with
    the active model on the placements neither has seen (`compared` is the candidate's
    metrics there; `active` carries `note` when no fair comparison was possible)."""
    if candidate.get("rule_violations", 1) != 0:
        return False, f"{candidate.get('rule_violations')} regelbrott i kandidatens topp 10"
    if candidate.get("ndcg@10") is None:
        return False, "kandidaten kunde inte utvärderas (inga bedömda testplaceringar)"
    limit = ece_limit(settings, candidate.get("test_placements"))
    if candidate.get("ece") is None or candidate["ece"] > limit:
        return False, (f"kalibreringen ligger utanför gränsen (ECE {candidate.get('ece')} > "
                       f"{limit:.3f})")
    if not active or compared is None:
        why = (active or {}).get("note") or "ingen aktiv modell att jämföra med"
        return True, f"{why}; rimlighetskontrollerna godkända"
    floor = settings.promotion_min_coverage_ratio * (active.get("coverage") or 0.0)
    if (compared.get("coverage") or 0.0) < floor:
        return False, (f"täckningen har rasat ({compared.get('coverage'):.3f} mot den aktiva "
                       f"modellens {active.get('coverage'):.3f})")
    a, c = active.get("ndcg@10"), compared.get("ndcg@10")
    if c is None:
        return True, "inga bedömda placeringar att jämföra på; rimlighetskontrollerna godkända"
    if a is not None and c < a - settings.promotion_tolerance:
        return False, (f"sämre än den aktiva modellen: NDCG@10 {c:.3f} mot {a:.3f} "
                       f"(tolerans {settings.promotion_tolerance})")
    return True, (f"NDCG@10 {c:.3f} mot den aktiva modellens "
                  f"{'–' if a is None else f'{a:.3f}'}; rimlighetskontrollerna godkända")


def ece_limit(settings: Settings, n: int | None) -> float:
    """The calibration bound: the setting, plus 1/sqrt(n) for the noise of measuring ECE on
    n test placements (a perfectly calibrated model shows about that much on few rows)."""
    return settings.promotion_max_ece + (1.0 / math.sqrt(n) if n else 0.0)


def begin(factory: sessionmaker[Session], engine: Engine, settings: Settings, *,
          trigger: str, by: int | None = None) -> tuple[RetrainLock, int]:
    """Take the lock and record the run as started; RetrainRunning when one already runs."""
    lock = RetrainLock(engine, settings)
    if not lock.try_acquire():
        with factory() as session:
            busy = models.running(session)
        raise RetrainRunning(details=[{"field": "job_id", "message": "pågående omträning",
                                       "job_id": busy[-1].id if busy else None}])
    try:
        with unit_of_work(factory) as session:
            # We hold the lock, so a run still marked "running" lost its process.
            for stale in models.running(session):
                models.finish_run(session, stale.id, status="failed", at=now(),
                                  reason="processen avbröts innan körningen blev klar")
            active = models.active_model(session)
            row = models.start_run(session, trigger=trigger, by=by, host=socket.gethostname(),
                                   pid=os.getpid(), at=now(),
                                   active_version=active.version if active else None)
            run_id = row.id
    except BaseException:
        lock.release()
        raise
    return lock, run_id


def execute(factory: sessionmaker[Session], settings: Settings, run_id: int,
            lock: RetrainLock, *, seed: int = 0,
            hook: Callable[[str], None] | None = None) -> RetrainOutcome:
    """Run the cycle for a begun run and release the lock. `hook(step)` is called at each
    step (progress display; tests use it to act mid-run)."""
    try:
        return _cycle(factory, settings, run_id, seed, hook)
    except BaseException as exc:
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        log.error("retrain run %s failed: %s", run_id, reason)
        _record_failure(factory, settings, run_id, reason)
        raise
    finally:
        lock.release()


def retrain(factory: sessionmaker[Session], engine: Engine, settings: Settings, *,
            trigger: str, by: int | None = None, seed: int = 0,
            hook: Callable[[str], None] | None = None) -> RetrainOutcome:
    lock, run_id = begin(factory, engine, settings, trigger=trigger, by=by)
    return execute(factory, settings, run_id, lock, seed=seed, hook=hook)


def _step(factory, run_id: int, text: str, hook, **fields: Any) -> None:
    log.info("retrain run %s: %s", run_id, text)
    with unit_of_work(factory) as session:
        models.set_progress(session, run_id, text, **fields)
    if hook is not None:
        hook(text)


def _cycle(factory, settings: Settings, run_id: int, seed: int, hook) -> RetrainOutcome:
    ref = get_reference()
    _step(factory, run_id, "läser historiken", hook)
    with unit_of_work(factory) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=settings)
        inp = evaluation.inputs(ctx, seed)
        active_row = models.active_model(session)
        active_version = active_row.version if active_row else None
    _step(factory, run_id, "utvärderar kandidaten på det senaste fönstret", hook,
          data_rows=len(inp.rows))
    result, _, split_model = E.evaluate(inp, ref)
    candidate = {k: _row(result, "model").get(k) for k in GATE_METRICS}
    candidate["test_placements"] = result["split"]["test_placements"]
    active: dict[str, Any] | None = None
    compared: dict[str, Any] | None = None
    if active_version is not None:
        _step(factory, run_id, "utvärderar den aktiva modellen på samma fönster", hook)
        try:
            compared, active = _compare(split_model, active_version, inp, settings, ref)
        except ModelUnavailable as exc:  # a broken active model is no bar to a good one
            log.error("active model %s cannot be evaluated: %s", active_version, exc.message)
    _step(factory, run_id, "tränar på hela historiken", hook)
    model = E.fit_with_negatives(inp, inp.rows, ref)
    ok, reason = gate(candidate, active, settings, compared)
    _step(factory, run_id, "sparar versionen", hook)
    version = registry.save(model, settings.models_dir, _metadata(model, result, active,
                                                                   active_version, ok, reason))
    _step(factory, run_id, "beslutar", hook)
    with unit_of_work(factory) as session:
        if ok:
            models.activate(session, version, at=now(), by=None, action="retrain",
                            run_id=run_id)
            audit.record(session, user_id=None, action="model.retrain", subject_type="model",
                         subject_id=version, model_version=version,
                         detail={"run_id": run_id, "previous": active_version})
        models.finish_run(session, run_id, status="promoted" if ok else "rejected", at=now(),
                          reason=reason, candidate_version=version,
                          candidate_metrics={**candidate, "same_window": compared},
                          active_metrics=active or {},
                          active_version=active_version, progress="klar")
    log.info("retrain run %s: %s %s (%s)", run_id, "promoted" if ok else "rejected", version,
             reason)
    return RetrainOutcome(run_id, "promoted" if ok else "rejected", reason, version,
                          {**candidate, "same_window": compared}, active or {})


def _compare(split_model, active_version: str, inp: E.EvalInputs, settings: Settings, ref
             ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Both models on the test placements proposed after the active model's training window:
    on older ones the active model would be graded on outcomes it was trained on.
    Returns (candidate's metrics there, active's metrics there); the candidate's are None and
    the active's carry a `note` when there are too few such placements."""
    active_model, meta = registry.load(settings.models_dir, active_version)
    _, _, test = E.window(inp.rows)
    end = (meta.get("training_window") or {}).get("to")
    fresh = test[test["day"] > day_number(end, -(10**6))] if end else test.iloc[:0]
    if len(fresh) < settings.promotion_min_fresh_placements:
        return None, {"note": f"ingen rättvis jämförelse med den aktiva modellen: "
                              f"{len(fresh)} testplaceringar efter dess träningsfönster "
                              f"(minst {settings.promotion_min_fresh_placements} behövs)",
                      "test_placements": len(fresh)}
    pick = lambda m: {k: v for k, v in m.items() if k in GATE_METRICS}  # noqa: E731
    compared = pick(E.score_model(split_model, inp, fresh, ref))
    active = pick(E.score_model(active_model, inp, fresh, ref))
    compared["test_placements"] = active["test_placements"] = len(fresh)
    return compared, active


def _row(result: dict[str, Any], system: str) -> dict[str, Any]:
    return next((s for s in result["systems"] if s["system"] == system), {})


def _metadata(model, result, active, active_version, ok, reason) -> dict[str, Any]:
    return {
        **version_metadata(model),
        "evaluation": {"split": result["split"], "systems": result["systems"],
                       "calibration": result["calibration"], "notes": result.get("notes")},
        "gate": {"promote": ok, "reason": reason, "active_version": active_version,
                 "active_metrics": active},
    }


def _record_failure(factory, settings: Settings, run_id: int, reason: str) -> None:
    """Mark the run failed, retrying while the database is away (bounded)."""
    deadline = time.monotonic() + settings.retrain_failure_record_seconds
    delay = 0.5
    while True:
        try:
            with unit_of_work(factory) as session:
                models.finish_run(session, run_id, status="failed", at=now(), reason=reason)
            return
        except DBAPIError:
            if time.monotonic() >= deadline:
                log.error("retrain run %s: could not record the failure", run_id)
                return
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
