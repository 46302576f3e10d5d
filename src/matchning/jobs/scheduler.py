"""`matchning scheduler`: retrain on a cron schedule (or an interval) until SIGTERM.

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

from matchning.config import Settings
from matchning.errors import RetrainRunning
from matchning.services import retraining
from matchning.storage.db import engine_from_settings, make_session_factory

log = logging.getLogger("matchning.scheduler")


def trigger_of(settings: Settings):
    if settings.retrain_interval_seconds:
        return IntervalTrigger(seconds=settings.retrain_interval_seconds,
                               timezone=settings.retrain_timezone)
    return CronTrigger.from_crontab(settings.retrain_cron, timezone=settings.retrain_timezone)


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
