"""The active model, its activation history, and the retrain runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from matchning.storage.tables import ActiveModelRow, ModelActivationRow, RetrainRunRow

NAME = "default"


def active_model(session: Session) -> ActiveModelRow | None:
    return session.get(ActiveModelRow, NAME)


def activate(session: Session, version: str, *, at: datetime, by: int | None, action: str,
             run_id: int | None = None) -> ActiveModelRow:
    """Point the installation at `version` and record the change (one transaction with the
    caller's other writes). The pointer row is locked first, so two promotions serialise."""
    session.execute(update(ActiveModelRow).where(ActiveModelRow.name == NAME)
                    .values(version=ActiveModelRow.version))
    row = session.get(ActiveModelRow, NAME, populate_existing=True)
    previous = row.version if row else None
    if row is None:
        row = ActiveModelRow(name=NAME, version=version, activated_at=at, activated_by=by)
        session.add(row)
    else:
        row.version, row.activated_at, row.activated_by = version, at, by
    session.add(ModelActivationRow(version=version, previous=previous, action=action,
                                   activated_at=at, activated_by=by, run_id=run_id))
    session.flush()
    return row


def activations(session: Session, limit: int = 100) -> list[ModelActivationRow]:
    return list(session.scalars(select(ModelActivationRow)
                                .order_by(ModelActivationRow.id.desc()).limit(limit)))


def start_run(session: Session, *, trigger: str, by: int | None, host: str, pid: int,
              at: datetime, active_version: str | None) -> RetrainRunRow:
    row = RetrainRunRow(status="running", trigger=trigger, requested_by=by, host=host, pid=pid,
                        started_at=at, progress="startar", active_version=active_version,
                        candidate_metrics={}, active_metrics={})
    session.add(row)
    session.flush()
    return row


def run(session: Session, run_id: int) -> RetrainRunRow | None:
    return session.get(RetrainRunRow, run_id)


def running(session: Session) -> list[RetrainRunRow]:
    return list(session.scalars(select(RetrainRunRow).where(RetrainRunRow.status == "running")
                                .order_by(RetrainRunRow.id)))


def runs(session: Session, limit: int = 50, offset: int = 0) -> list[RetrainRunRow]:
    return list(session.scalars(select(RetrainRunRow).order_by(RetrainRunRow.id.desc())
                                .limit(limit).offset(offset)))


def count_runs(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(RetrainRunRow)) or 0


def finish_run(session: Session, run_id: int, *, status: str, at: datetime,
               reason: str | None, **fields: Any) -> None:
    session.execute(update(RetrainRunRow).where(RetrainRunRow.id == run_id).values(
        status=status, finished_at=at, reason=reason, **fields))


def set_progress(session: Session, run_id: int, progress: str, **fields: Any) -> None:
    session.execute(update(RetrainRunRow).where(RetrainRunRow.id == run_id)
                    .values(progress=progress[:200], **fields))
