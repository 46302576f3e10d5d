"""The unit's results report (resultatrapport): who may read it, the period asked for, the
figures (domain.results) and the labels of the groups. Every read is audited as a report read
or an export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from matchning.domain import results
from matchning.domain.results import NONE, Period, Report
from matchning.errors import InvalidInput
from matchning.services import access
from matchning.services.context import Context
from matchning.storage.repositories import audit
from matchning.storage.repositories import results as facts
from matchning.storage.tables import UnitRow

MAX_DAYS = 3660  # ten years: the previous period of equal length still fits in the history
READ, EXPORT = "report.read", "report.export"


@dataclass
class UnitReport:
    unit: UnitRow
    report: Report
    labels: dict[str, dict[str, str]]  # dimension -> group key -> Swedish label


def parse_day(value: str | None, field: str) -> date | None:
    """An ISO date (ÅÅÅÅ-MM-DD) from a form, a query or the command line; None when empty."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("Datumet är inte giltigt.", details=[
            {"field": field, "message": f"Ange ett datum som ÅÅÅÅ-MM-DD (fick {value[:20]!r})."}
        ]) from None


def period_of(ctx: Context, start: str | date | None, end: str | date | None) -> Period:
    """The period asked for; by default the twelve months up to today."""
    last = end if isinstance(end, date) else parse_day(end, "to")
    first = start if isinstance(start, date) else parse_day(start, "from")
    last = last or ctx.today
    if first is None:
        first = _year_before(last)
    if first > last:
        raise InvalidInput("Perioden är inte giltig.", details=[
            {"field": "from", "message": "Från-datumet ligger efter till-datumet."}])
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput("Perioden är för lång.", details=[
            {"field": "from", "message": f"En rapport gäller högst {MAX_DAYS} dagar."}])
    return Period(first, last)


def _year_before(day: date) -> date:
    """The first day of the twelve months that end on `day`."""
    try:
        return day.replace(year=day.year - 1) + timedelta(days=1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28) + timedelta(days=1)


def readable_unit(ctx: Context, unit_id: int) -> UnitRow:
    """The unit if the principal may read its reports: its consultants and unit admins, and
    system admins (employers: 403; another unit: 404)."""
    return access.unit(ctx, unit_id)


def unit_report(ctx: Context, unit_id: int, period: Period, *, action: str | None = READ,
                fmt: str | None = None) -> UnitReport:
    """The report of `unit_id` for `period` with the previous period beside it; audited as
    `action` (None only for the page's plots: the page that shows them was audited)."""
    unit = readable_unit(ctx, unit_id)
    persons = facts.person_facts(ctx.session, unit.id)
    report = results.build_report(persons, facts.placement_facts(ctx.session, unit.id), period)
    detail = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    if fmt:
        detail["format"] = fmt
    if action is not None:
        audit.record(ctx.session, user_id=ctx.principal.user_id, action=action,
                     subject_type="unit", subject_id=unit.id, unit_id=unit.id, detail=detail,
                     at=ctx.now())
    return UnitReport(unit, report, _labels(ctx, report))


def _labels(ctx: Context, report: Report) -> dict[str, dict[str, str]]:
    keys = {dim: [g.key for g in groups] for dim, groups in report.breakdowns.items()}
    names = facts.user_names(ctx.session, [int(k) for k in keys["konsulent"] if k.isdigit()])
    ref = ctx.ref

    def kommun(code: str) -> str:
        m = ref.municipalities.get(code)
        return m.name if m else code

    def occupation(code: str) -> str:
        label = ref.occupation_label(code)
        return f"{code} {label}" if label else code

    out = {
        "malgrupp": {k: k for k in keys["malgrupp"]},
        "kommun": {k: kommun(k) for k in keys["kommun"]},
        "konsulent": {k: names.get(int(k), f"Användare {k}") if k.isdigit() else k
                      for k in keys["konsulent"]},
        "yrkesgrupp": {k: occupation(k) for k in keys["yrkesgrupp"]},
    }
    out["malgrupp"][NONE] = "Ingen målgrupp"
    out["konsulent"][NONE] = "Ingen konsulent"
    out["yrkesgrupp"][NONE] = "Inget önskat yrke"
    out["kommun"].setdefault(NONE, "Okänd kommun")
    return out
