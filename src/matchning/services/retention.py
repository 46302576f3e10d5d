"""Retention: participants ended (avslutad) longer ago than `participant_retention_months`
are erased the same way as on request, by the scheduler or `matchning retention`; a dry run
reports who would go (ids and exit dates, never names)."""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from matchning.domain.principal import SYSTEM
from matchning.errors import Conflict, Forbidden
from matchning.services import erasure
from matchning.services.context import Context
from matchning.storage.repositories import privacy
from matchning.storage.tables import ParticipantRow

log = logging.getLogger("matchning.privacy")


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day when shorter)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def require_system(ctx: Context) -> None:
    """Purges and retention run as the system itself (CLI, scheduler), never for a user."""
    if ctx.principal is not SYSTEM:
        raise Forbidden("Bara systemet självt (kommandoraden eller schemaläggaren) gör detta.")


@dataclass(frozen=True)
class Due:
    participant_id: int
    unit_id: int
    exit_date: date | None  # none: ended without a date, counted from the last change


@dataclass
class RetentionReport:
    cutoff: date
    dry_run: bool
    due: list[Due]
    erased: list[Due] = field(default_factory=list)
    skipped: list[tuple[Due, str]] = field(default_factory=list)  # (who, why in Swedish)


def cutoff_of(ctx: Context) -> date:
    """Participants who ended before this day are due: just inside the period is kept."""
    return months_before(ctx.today, ctx.settings.participant_retention_months)


def due(ctx: Context) -> tuple[date, list[Due]]:
    require_system(ctx)
    cutoff = cutoff_of(ctx)
    rows = privacy.ended_before(ctx.session, cutoff, datetime.combine(cutoff, time(), UTC))
    return cutoff, [Due(i, u, d) for i, u, d in rows]


def run(ctx: Context, *, dry_run: bool = False) -> RetentionReport:
    """Erase everyone due (or only report them when `dry_run`)."""
    cutoff, people = due(ctx)
    report = RetentionReport(cutoff, dry_run, people)
    if dry_run:
        return report
    for who in people:
        person = ctx.session.get(ParticipantRow, who.participant_id)
        if person is None:
            continue
        try:
            erasure.check_erasable(ctx, person)
        except Conflict as exc:  # checked before any write: the others still go
            report.skipped.append((who, exc.message))
            continue
        erasure.erase_row(ctx, person, reason="retention")
        report.erased.append(who)
    log.info("retention: %d participants erased, %d skipped (ended before %s)",
             len(report.erased), len(report.skipped), cutoff)
    return report
