"""The figures a labour-market unit reports for a period: pure computation over plain facts.

No SQL and no HTTP: the service hands in one `PersonFact` per participant of the unit and one
`PlacementFact` per placement of theirs (all of them: the first placement of a person may lie
before the period), and gets the figures for the period, for the previous period of the same
length, and per group of each breakdown. docs/reports.md says what each figure means.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from matchning.domain.vocab import AbortReason, ExitOutcome, PlacementStatus

__all__ = ["DIMENSIONS", "Figures", "Period", "PersonFact", "PlacementFact", "Report",
           "build_report", "figures", "quarterly_exits"]

OUTCOMES = tuple(o.value for o in ExitOutcome)           # arbete, studier, annan insats, övrigt
TO_WORK_OR_STUDIES = (ExitOutcome.work.value, ExitOutcome.studies.value)
ABORT_REASONS = tuple(r.value for r in AbortReason)
# Once accepted, a placement keeps its decision day while it goes on to start and end.
PAST_ACCEPT = tuple(s.value for s in (PlacementStatus.accepted, PlacementStatus.started,
                                      PlacementStatus.completed, PlacementStatus.aborted))
NONE = "ingen"  # the group of a person without a target group, consultant or wished occupation
# The breakdowns, in the order they are shown: key and Swedish heading.
DIMENSIONS = (("malgrupp", "Målgrupp"), ("kommun", "Kommun"), ("konsulent", "Konsulent"),
              ("yrkesgrupp", "Yrkesgrupp (SSYK 3)"))


@dataclass(frozen=True)
class Period:
    """First and last day, both inclusive."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)


@dataclass(frozen=True)
class PersonFact:
    id: int
    enrolled_on: date
    exit_outcome: str | None
    exit_date: date | None
    kommunkod: str
    consultant_id: int | None
    target_groups: tuple[str, ...] = ()
    occupation: str | None = None  # the first wished occupation (SSYK 4), if any


@dataclass(frozen=True)
class PlacementFact:
    participant_id: int
    status: str
    proposed_on: date
    decided_on: date | None
    started_on: date | None
    ended_on: date | None
    abort_reason: str | None
    outcome: str | None
    occupation: str  # the slot's SSYK 4


@dataclass
class Figures:
    """One column of the report: the figures of one group in one period."""

    people: int = 0  # distinct participants behind the figures (served or with a placement step)
    served: int = 0
    exits: int = 0
    exits_by_outcome: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    work_or_studies: int = 0
    work_or_studies_share: float | None = None
    proposed: int = 0
    accepted: int = 0
    declined: int = 0
    withdrawn: int = 0
    started: int = 0
    completed: int = 0
    aborted: int = 0
    aborted_by_reason: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(ABORT_REASONS, 0))
    completed_to_work: int = 0
    completed_to_work_share: float | None = None
    days_to_first_placement: float | None = None  # median
    days_to_first_placement_n: int = 0
    days_proposal_to_start: float | None = None  # median
    days_proposal_to_start_n: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in vars(self).items()}


@dataclass
class Group:
    key: str
    current: Figures
    previous: Figures


@dataclass
class Report:
    period: Period
    previous_period: Period
    total: Group
    breakdowns: dict[str, list[Group]]
    quarters: list[tuple[str, dict[str, int]]]  # exits by outcome per quarter of the period


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def first_starts(placements: Iterable[PlacementFact]) -> dict[int, date]:
    """Participant id -> the day their first placement started (over their whole history)."""
    out: dict[int, date] = {}
    for p in placements:
        if p.started_on is not None and (p.participant_id not in out
                                         or p.started_on < out[p.participant_id]):
            out[p.participant_id] = p.started_on
    return out


def figures(persons: Sequence[PersonFact], placements: Sequence[PlacementFact], period: Period,
            first_start: dict[int, date]) -> Figures:
    """The figures of `period` for these persons and these placements."""
    f = Figures()
    served = [p for p in persons
              if p.enrolled_on <= period.end and (p.exit_date is None
                                                  or p.exit_date >= period.start)]
    f.served = len(served)
    people = {p.id for p in served}
    for p in persons:
        if p.exit_outcome is not None and p.exit_date in period:
            f.exits += 1
            if p.exit_outcome in f.exits_by_outcome:
                f.exits_by_outcome[p.exit_outcome] += 1
    f.work_or_studies = sum(f.exits_by_outcome[o] for o in TO_WORK_OR_STUDIES)
    f.work_or_studies_share = _share(f.work_or_studies, f.exits)
    to_start: list[int] = []
    for pl in placements:
        touched = False
        if pl.proposed_on in period:
            f.proposed += 1
            touched = True
        if pl.decided_on in period:
            touched = True
            if pl.status in PAST_ACCEPT:
                f.accepted += 1
            elif pl.status == PlacementStatus.declined.value:
                f.declined += 1
            elif pl.status == PlacementStatus.withdrawn.value:
                f.withdrawn += 1
        if pl.started_on in period:
            f.started += 1
            to_start.append((pl.started_on - pl.proposed_on).days)
            touched = True
        if pl.ended_on in period:
            touched = True
            if pl.status == PlacementStatus.completed.value:
                f.completed += 1
                if pl.outcome == ExitOutcome.work.value:
                    f.completed_to_work += 1
            elif pl.status == PlacementStatus.aborted.value:
                f.aborted += 1
                if pl.abort_reason in f.aborted_by_reason:
                    f.aborted_by_reason[pl.abort_reason] += 1
        if touched:
            people.add(pl.participant_id)
    f.completed_to_work_share = _share(f.completed_to_work, f.completed)
    waits = [(first_start[p.id] - p.enrolled_on).days for p in persons
             if first_start.get(p.id) in period]
    f.days_to_first_placement, f.days_to_first_placement_n = _median(waits), len(waits)
    f.days_proposal_to_start, f.days_proposal_to_start_n = _median(to_start), len(to_start)
    f.people = len(people)
    return f


def _person_keys(dim: str, p: PersonFact) -> tuple[str, ...]:
    if dim == "malgrupp":
        return p.target_groups or (NONE,)
    if dim == "kommun":
        return (p.kommunkod,)
    if dim == "konsulent":
        return (str(p.consultant_id) if p.consultant_id is not None else NONE,)
    return (p.occupation[:3] if p.occupation else NONE,)


def _placement_keys(dim: str, pl: PlacementFact, person: PersonFact | None) -> tuple[str, ...]:
    """A placement falls in its participant's groups, except by occupation: the slot's."""
    if dim == "yrkesgrupp":
        return (pl.occupation[:3],)
    return _person_keys(dim, person) if person is not None else (NONE,)


def _grouped(items: Iterable[Any], keys: Callable[[Any], tuple[str, ...]]) -> dict[str, list]:
    out: dict[str, list] = {}
    for item in items:
        for k in keys(item):
            out.setdefault(k, []).append(item)
    return out


def quarterly_exits(persons: Sequence[PersonFact], period: Period
                    ) -> list[tuple[str, dict[str, int]]]:
    """("2026 K1", {outcome: exits}) for each calendar quarter the period touches; a quarter
    at either end counts only its days inside the period."""
    out: list[tuple[str, dict[str, int]]] = []
    year, q = period.start.year, (period.start.month - 1) // 3
    while date(year, 3 * q + 1, 1) <= period.end:
        first = date(year, 3 * q + 1, 1)
        nxt = date(year + (q == 3), 3 * ((q + 1) % 4) + 1, 1)
        part = Period(max(first, period.start), min(nxt - timedelta(days=1), period.end))
        counts = dict.fromkeys(OUTCOMES, 0)
        for p in persons:
            if p.exit_outcome in counts and p.exit_date in part:
                counts[p.exit_outcome] += 1
        out.append((f"{year} K{q + 1}", counts))
        year, q = (year + 1, 0) if q == 3 else (year, q + 1)
    return out


def build_report(persons: Sequence[PersonFact], placements: Sequence[PlacementFact],
                 period: Period) -> Report:
    """The whole report: totals, the breakdowns and the quarters, each beside the previous
    period of the same length."""
    prev = period.previous()
    first = first_starts(placements)
    by_id = {p.id: p for p in persons}

    def group(key: str, ps: Sequence[PersonFact], pls: Sequence[PlacementFact]) -> Group:
        return Group(key, figures(ps, pls, period, first), figures(ps, pls, prev, first))

    breakdowns: dict[str, list[Group]] = {}
    for dim, _ in DIMENSIONS:
        ps = _grouped(persons, lambda p, d=dim: _person_keys(d, p))
        pls = _grouped(placements,
                       lambda pl, d=dim: _placement_keys(d, pl, by_id.get(pl.participant_id)))
        rows = [group(k, ps.get(k, []), pls.get(k, [])) for k in sorted(set(ps) | set(pls))]
        # Groups with nothing in either period say nothing; leave them out.
        breakdowns[dim] = [g for g in rows if g.current.people or g.previous.people]
    return Report(period, prev, group("", persons, placements), breakdowns,
                  quarterly_exits(persons, period))
