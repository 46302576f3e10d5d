"""`matchning scheduler`: retrain on a cron schedule (or an interval) until SIGTERM; once a
day (MATCHNING_PRIVACY_CRON) purge old audit rows and erase participants past retention; and
each night (MATCHNING_PRECOMPUTE_CRON) store every waiting participant's top list.

Each run is the same `services.retraining.retrain` the CLI and the API call; a run that finds
another in progress is skipped and logged. SIGTERM and SIGINT stop the scheduler; a run under
way is allowed to finish first.
"""

from __future__ import annotations

import logging
import signal
import threading

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.errors import RetrainRunning
from matchning.services import audit, precompute, retention, retraining
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.storage.db import engine_from_settings, make_session_factory, unit_of_work

log = logging.getLogger("matchning.scheduler")


def trigger_of(settings: Settings):
    if settings.retrain_interval_seconds:
        return IntervalTrigger(seconds=settings.retrain_interval_seconds,
                               timezone=settings.retrain_timezone)
    return CronTrigger.from_crontab(settings.retrain_cron, timezone=settings.retrain_timezone)


def privacy_job(factory: sessionmaker[Session], settings: Settings) -> None:
    """The daily privacy chores, each its own unit of work: a failure in one leaves the
    other done. Logs counts only, never who."""
    try:
        with unit_of_work(factory) as session:
            ctx = Context(session=session, principal=SYSTEM, settings=settings)
            plan = retention.run(ctx, dry_run=True)  # the report first, then the erasure
            log.info("retention: %d participants ended before %s are due", len(plan.due),
                     plan.cutoff)
            retention.run(ctx)
    except Exception:  # the next day tries again
        log.exception("scheduled retention failed")
    try:
        with unit_of_work(factory) as session:
            audit.purge(Context(session=session, principal=SYSTEM, settings=settings))
    except Exception:
        log.exception("scheduled audit purge failed")


def precompute_job(factory: sessionmaker[Session], settings: Settings) -> None:
    """The nightly lists: every waiting participant's top 10 with the active model (on the
    Dask cluster when MATCHNING_DASK_SCHEDULER is set)."""
    try:
        with unit_of_work(factory) as session:
            ctx = Context(session=session, principal=SYSTEM, settings=settings,
                          matcher=Matcher(settings.models_dir))
            out = precompute.precompute(ctx)
        log.info("precompute: %d participants, %d rows, model %s (%s)", out.participants,
                 out.rows, out.model_version, out.backend)
    except Exception:  # no model yet, or the cluster is away: the next night tries again
        log.exception("scheduled precompute failed")


def run_scheduler(settings: Settings) -> None:
    engine = engine_from_settings(settings)
    factory = make_session_factory(engine)

    def job() -> None:
        try:
            out = retraining.retrain(factory, engine, settings, trigger="scheduler")
            log.info("scheduled retrain %s: %s (%s)", out.run_id, out.status, out.reason)
        except RetrainRunning:
            log.warning("scheduled retrain skipped: another retrain is running")
        except Exception:  # recorded as failed by the run itself; the scheduler goes on
            log.exception("scheduled retrain failed")

    scheduler = BlockingScheduler(timezone=settings.retrain_timezone)
    scheduler.add_job(job, trigger_of(settings), id="retrain", max_instances=1, coalesce=True,
                      misfire_grace_time=3600)
    scheduler.add_job(privacy_job, CronTrigger.from_crontab(
        settings.privacy_cron, timezone=settings.retrain_timezone), args=(factory, settings),
        id="privacy", max_instances=1, coalesce=True, misfire_grace_time=6 * 3600)
    scheduler.add_job(precompute_job, CronTrigger.from_crontab(
        settings.precompute_cron, timezone=settings.retrain_timezone), args=(factory, settings),
        id="precompute", max_instances=1, coalesce=True, misfire_grace_time=6 * 3600)

    def stop(signum, _frame) -> None:
        log.info("signal %s: stopping the scheduler (a run under way finishes first)",
                 signal.Signals(signum).name)
        # shutdown(wait=True) blocks until running jobs end: not inside a signal handler.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True},
                         name="scheduler-stop").start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started: %s (%s)", trigger_of(settings), settings.retrain_timezone)
    try:
        scheduler.start()
    finally:
        engine.dispose()
        log.info("scheduler stopped")
