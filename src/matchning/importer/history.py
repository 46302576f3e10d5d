"""placements.csv: placement history stored as given (not replayed through the status
machine), checked for consistency, with a profile snapshot and one "import" event per row."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Annotated

from pydantic import StringConstraints

from matchning.domain.placement_flow import STATUS_SV
from matchning.domain.records import ExternalId, Record
from matchning.domain.snapshot import profile_snapshot
from matchning.domain.vocab import (
    OCCUPYING_STATUSES,
    AbortReason,
    ParticipantStatus,
    PlacementOutcome,
)
from matchning.domain.vocab import PlacementStatus as S
from matchning.importer.csvread import CsvRow
from matchning.importer.problems import Problem, raise_if
from matchning.importer.state import FileState
from matchning.services.context import Context
from matchning.storage.repositories import audit, base, catalog, counters, people
from matchning.storage.tables import (
    ParticipantRow,
    PlacementEventRow,
    PlacementRow,
    SlotRow,
    UnitRow,
)


class PlacementHistory(Record):
    external_id: ExternalId
    status: S
    proposed_on: date
    decided_on: date | None = None
    started_on: date | None = None
    ended_on: date | None = None
    decline_reason: Annotated[str, StringConstraints(strip_whitespace=True,
                                                     max_length=1000)] | None = None
    abort_reason: AbortReason | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
    outcome: PlacementOutcome | None = None
    outcome_on: date | None = None


DATES = ("proposed_on", "decided_on", "started_on", "ended_on", "outcome_on")
HISTORY = ("decided_on", "started_on", "ended_on", "decline_reason", "abort_reason", "outcome",
           "outcome_on")
REQUIRED: dict[S, tuple[str, ...]] = {
    S.proposed: (), S.accepted: ("decided_on",), S.declined: ("decided_on", "decline_reason"),
    S.withdrawn: ("decided_on",), S.started: ("started_on",),
    S.completed: ("started_on", "ended_on"), S.aborted: ("started_on", "ended_on", "abort_reason"),
}
ALLOWED: dict[S, tuple[str, ...]] = {
    S.proposed: (), S.accepted: ("decided_on",), S.declined: ("decided_on", "decline_reason"),
    S.withdrawn: ("decided_on",), S.started: ("decided_on", "started_on"),
    S.completed: ("decided_on", "started_on", "ended_on", "outcome", "outcome_on"),
    S.aborted: ("decided_on", "started_on", "ended_on", "abort_reason", "outcome", "outcome_on"),
}
OCCUPYING = tuple(s.value for s in OCCUPYING_STATUSES)
OPEN = (S.proposed.value, *OCCUPYING)


def _label(status: S) -> str:
    return f"{STATUS_SV[status]} ({status.value})"


def consistency_problems(h: PlacementHistory) -> list[Problem]:
    """What does not fit together in one history row: dates, reasons and outcome vs status."""
    problems: list[Problem] = []
    for name in REQUIRED[h.status]:
        if getattr(h, name) is None:
            problems.append((name, f"Måste anges för en placering som är {_label(h.status)}."))
    for name in HISTORY:
        if getattr(h, name) is not None and name not in ALLOWED[h.status]:
            if name in ("outcome", "outcome_on"):
                message = ("Utfall anges bara för en placering som är "
                           f"{_label(S.completed)} eller {_label(S.aborted)}.")
            else:
                message = f"Anges inte för en placering som är {_label(h.status)}."
            problems.append((name, message))
    if h.outcome_on is not None and h.outcome is None:
        problems.append(("outcome_on", "Anges bara tillsammans med utfallet (outcome)."))
    given = [(name, getattr(h, name)) for name in DATES if getattr(h, name) is not None]
    for (before, earlier), (name, later) in pairwise(given):
        if later < earlier:
            problems.append((name, f"Kan inte vara före {before} ({earlier.isoformat()})."))
    return problems


def _participant(ctx: Context, row: CsvRow, state: FileState, problems: list[Problem]
                 ) -> ParticipantRow | None:
    """By the participant's external id, within the `unit` column's unit when given."""
    if row.cells.get("unit", "").strip():
        unit = state.resolve(row, "unit", lambda e: base.get_by_external_id(
            ctx.session, UnitRow, e), "Enheten", "units.csv", problems)
        if unit is None:
            return None
        return state.resolve(row, "participant", lambda e: people.participant_by_external_id(
            ctx.session, unit.id, e), "Deltagaren", "participants.csv", problems)

    def find(ext: str) -> ParticipantRow | None:
        found = people.participants_with_external_id(ctx.session, ext)
        if len(found) > 1:
            problems.append(("participant", f"Flera enheter har en deltagare med id {ext!r}: "
                                            "ange enhetens id i kolumnen unit."))
            return found[0]
        return found[0] if found else None

    person = state.resolve(row, "participant", find, "Deltagaren", "participants.csv", problems)
    return None if any(c == "participant" for c, _ in problems) else person


def _fit_problems(ctx: Context, h: PlacementHistory, person: ParticipantRow, slot: SlotRow,
                  existing: PlacementRow | None) -> list[Problem]:
    """Checks against what is stored: capacity, one open placement per slot, one started."""
    session, problems = ctx.session, []
    own = existing.id if existing else None
    if h.status in OCCUPYING_STATUSES:
        catalog.lock_slot(session, slot.id)  # as taking a place in the service does
        taken = catalog.taken_places(session, [slot.id]).get(slot.id, 0)
        if existing and existing.slot_id == slot.id and existing.status in OCCUPYING:
            taken -= 1
        if taken >= slot.capacity:
            problems.append(("slot", f"Praktikplatsen {slot.title!r} har {slot.capacity} "
                                     "plats(er) och alla är redan tagna av accepterade eller "
                                     "pågående placeringar."))
    if h.status.value in OPEN:
        dup = [p for p in people.active_placements_of(session, person.id, OPEN)
               if p.slot_id == slot.id and p.id != own]
        if dup:
            problems.append(("slot", "Deltagaren har redan en öppen placering på den här "
                                     f"praktikplatsen (id {dup[0].external_id or dup[0].id})."))
    if h.status is S.started:
        busy = [p for p in people.active_placements_of(session, person.id, (S.started.value,))
                if p.id != own]
        if busy:
            problems.append(("status", "Deltagaren har redan en pågående placering "
                                       f"(id {busy[0].external_id or busy[0].id})."))
        if person.status == ParticipantStatus.paused.value:
            problems.append(("status", "Deltagaren är pausad och kan inte ha en pågående "
                                       "placering."))
    if h.status.value in OPEN and person.status == ParticipantStatus.ended.value:
        problems.append(("status", "Deltagaren är avslutad och kan inte ha en öppen placering "
                                   "(proposed, accepted eller started)."))
    return problems


def upsert_placement(ctx: Context, row: CsvRow, state: FileState) -> bool:
    problems: list[Problem] = []
    ext = state.external_id(row, problems)
    person = _participant(ctx, row, state, problems)
    slot = state.resolve(row, "slot", lambda e: base.get_by_external_id(ctx.session, SlotRow, e),
                         "Praktikplatsen", "slots.csv", problems)
    values = state.values(row, problems)
    h = state.validate(PlacementHistory, {**values, "external_id": ext}, problems)
    if h is not None:
        problems.extend(consistency_problems(h))
    raise_if(problems)
    assert h is not None and person is not None and slot is not None
    existing = base.get_by_external_id(ctx.session, PlacementRow, ext)
    raise_if(_fit_problems(ctx, h, person, slot, existing))
    old_status = existing.status if existing else None
    if existing is not None:
        state.touched.add(existing.participant_id)
        if existing.slot_id != slot.id and existing.status in OCCUPYING:
            catalog.lock_slot(ctx.session, existing.slot_id)  # its free places changed
    pl = existing or PlacementRow(external_id=ext)
    pl.participant_id, pl.slot_id, pl.status = person.id, slot.id, h.status.value
    pl.proposed_on, pl.decided_on = h.proposed_on, h.decided_on
    pl.started_on, pl.ended_on = h.started_on, h.ended_on
    pl.decline_reason, pl.note = h.decline_reason, h.note
    pl.abort_reason = h.abort_reason.value if h.abort_reason else None
    pl.outcome = h.outcome.value if h.outcome else None
    pl.outcome_on = (h.outcome_on or h.ended_on) if h.outcome else None
    pl.snapshot = profile_snapshot(person)
    ctx.session.add(pl)
    ctx.session.flush()
    ctx.session.add(PlacementEventRow(placement_id=pl.id, action="import", from_status=old_status,
                                      to_status=pl.status, by_user_id=None, at=ctx.now()))
    audit.record(ctx.session, user_id=ctx.principal.user_id, action="placement.import",
                 subject_type="participant", subject_id=person.id,
                 detail={"placement_id": pl.id, "from": old_status, "to": pl.status})
    state.touched.add(person.id)
    ctx.session.flush()
    return existing is None


def sync_participants(ctx: Context, state: FileState) -> None:
    """'i praktik' exactly while a placement is started, as starting and ending one sets it."""
    units: set[int] = set()
    for pid in sorted(state.touched):
        person = ctx.session.get(ParticipantRow, pid)
        if person is None:
            continue
        busy = people.active_placements_of(ctx.session, pid, (S.started.value,))
        was = person.status
        if busy and person.status == ParticipantStatus.waiting.value:
            person.status = ParticipantStatus.in_practice.value
        elif not busy and person.status == ParticipantStatus.in_practice.value:
            person.status = ParticipantStatus.waiting.value
        if person.status != was:
            units.add(person.unit_id)
    for unit_id in sorted(units):  # the workers' participant matrices follow these
        counters.bump(ctx.session, counters.participants_of(unit_id))
    ctx.session.flush()
