"""The audit log as admins see it, and its retention purge.

Unit admins see the rows of their own unit (rows about its participants); system admins and
the CLI see all. Reading the log is itself recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from matchning.domain.vocab import Role
from matchning.errors import Forbidden, InvalidInput
from matchning.services.context import Context
from matchning.services.retention import months_before, require_system
from matchning.storage.repositories import audit, base
from matchning.storage.tables import AuditRow

log = logging.getLogger("matchning.privacy")


@dataclass(frozen=True)
class AuditFilter:
    participant_id: int | None = None
    user_id: int | None = None
    since: date | None = None  # first day, inclusive (UTC)
    until: date | None = None  # last day, inclusive (UTC)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _scope(ctx: Context) -> int | None:
    """The unit whose rows the principal may read; None for all."""
    p = ctx.principal
    if p.is_system_admin:
        return None
    if p.role is Role.unit_admin and p.unit_id is not None:
        return p.unit_id
    raise Forbidden("Bara enhetsadministratörer och systemadministratörer får läsa "
                    "granskningsloggen.")


def query(ctx: Context, f: AuditFilter, limit: int, offset: int
          ) -> tuple[Sequence[AuditRow], int]:
    """One page of the rows matching `f`, newest first, and how many match."""
    unit_id = _scope(ctx)
    if f.since and f.until and f.since > f.until:
        raise InvalidInput("Perioden är inte giltig.", details=[
            {"field": "from", "message": "Från-datumet ligger efter till-datumet."}])
    stmt = audit.query(unit_id=unit_id, participant_id=f.participant_id, user_id=f.user_id,
                       since=_start_of(f.since) if f.since else None,
                       until=_start_of(f.until + timedelta(days=1)) if f.until else None)
    rows, total = base.page(ctx.session, stmt, limit, offset)
    audit.record(ctx.session, user_id=ctx.principal.user_id, action="audit.read",
                 subject_type="audit", subject_id=unit_id if unit_id is not None else "*",
                 unit_id=unit_id, at=ctx.now(),
                 detail={k: (v.isoformat() if isinstance(v, date) else v)
                         for k, v in vars(f).items() if v is not None})
    return rows, total


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    rows: int
    dry_run: bool
    oldest: datetime | None


def purge(ctx: Context, *, dry_run: bool = False) -> PurgeReport:
    """Delete audit rows older than `audit_retention_months` (or count them when `dry_run`)."""
    require_system(ctx)
    now = ctx.now()
    cutoff = _start_of(months_before(now.date(), ctx.settings.audit_retention_months))
    oldest = audit.oldest(ctx.session)
    if dry_run:
        return PurgeReport(cutoff, audit.count_before(ctx.session, cutoff), True, oldest)
    n = audit.purge_before(ctx.session, cutoff)
    audit.record(ctx.session, user_id=None, action="audit.purge", subject_type="audit",
                 subject_id="*", detail={"before": cutoff.isoformat(), "rows": n}, at=now)
    log.info("audit purge: %d rows before %s deleted", n, cutoff.date())
    return PurgeReport(cutoff, n, False, oldest)
