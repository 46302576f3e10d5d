"""Append-only audit log writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchning.storage.tables import AuditRow


def record(session: Session, *, user_id: int | None, action: str, subject_type: str,
           subject_id: str | int, detail: dict[str, Any] | None = None,
           model_version: str | None = None) -> None:
    session.add(AuditRow(at=datetime.now(UTC), user_id=user_id, action=action,
                         subject_type=subject_type, subject_id=str(subject_id),
                         detail=detail or {}, model_version=model_version))


def rows_about(session: Session, subject_type: str, subject_id: str | int) -> list[AuditRow]:
    return list(session.scalars(select(AuditRow).where(
        AuditRow.subject_type == subject_type, AuditRow.subject_id == str(subject_id))
        .order_by(AuditRow.id)))
