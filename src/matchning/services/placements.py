"""Placements (placeringar): proposing a participant for a slot and moving the placement along
its status machine. Taking a place locks the slot row, so capacity holds under concurrency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from matchning.domain.placement_flow import Action, Side, plan_transition
from matchning.domain.snapshot import profile_snapshot
from matchning.domain.vocab import (
    OCCUPYING_STATUSES,
    AbortReason,
    ParticipantStatus,
    PlacementOutcome,
    PlacementStatus,
    Role,
    SlotStatus,
)
from matchning.errors import Conflict, Forbidden, InvalidInput, NoCapacity, NotFound
from matchning.services import access
from matchning.services.context import Context
from matchning.storage.repositories import audit, base, catalog, counters, people
from matchning.storage.tables import (
    ParticipantRow,
    PlacementEventRow,
    PlacementRow,
    SlotRow,
)

REASON_MAX = 1000
OPEN_STATUSES = (PlacementStatus.proposed.value, *(s.value for s in OCCUPYING_STATUSES))


@dataclass
class PlacementView:
    row: PlacementRow
    participant: ParticipantRow
    slot: SlotRow
    employer_view: bool  # an employer sees only what the placement needs


def _side(ctx: Context, person: ParticipantRow, slot: SlotRow) -> Side:
    p = ctx.principal
    if p.role is Role.employer and p.owns_employer(slot.employer_id):
        return Side.employer
    if p.in_unit(person.unit_id):
        return Side.unit
    raise Forbidden("Du får inte ändra den här placeringen.")


def _event(ctx: Context, row: PlacementRow, action: str, old: str | None,
           reason: str | None = None) -> None:
    ctx.session.add(PlacementEventRow(placement_id=row.id, action=action, from_status=old,
                                      to_status=row.status, by_user_id=ctx.principal.user_id or
                                      None, at=ctx.now(), reason=reason))
    audit.record(ctx.session, user_id=ctx.principal.user_id, action=f"placement.{action}",
                 subject_type="participant", subject_id=row.participant_id,
                 detail={"placement_id": row.id, "from": old, "to": row.status})


def _ensure_free_place(ctx: Context, slot: SlotRow) -> None:
    catalog.lock_slot(ctx.session, slot.id)
    ctx.session.refresh(slot)
    taken = catalog.taken_places(ctx.session, [slot.id]).get(slot.id, 0)
    if taken >= slot.capacity:
        raise NoCapacity(f"Praktikplatsen {slot.title!r} har inga lediga platser kvar "
                         f"({slot.capacity} av {slot.capacity} tagna).")


def propose(ctx: Context, participant_id: int, slot_id: int, note: str | None = None
            ) -> PlacementView:
    access.require_unit_staff(ctx)
    person = access.participant(ctx, participant_id)
    slot = ctx.session.get(SlotRow, slot_id)
    if slot is None:
        raise NotFound("Praktikplatsen finns inte.")
    if slot.status != SlotStatus.open.value:
        raise Conflict("Praktikplatsen är inte öppen för nya placeringar.")
    if slot.end_date is not None and slot.end_date < ctx.today:
        raise Conflict("Praktikplatsens period har redan tagit slut.")
    if person.status in (ParticipantStatus.ended.value, ParticipantStatus.paused.value):
        raise Conflict("Deltagaren är avslutad eller pausad och kan inte få nya förslag.")
    dup = [pl for pl in people.active_placements_of(ctx.session, person.id, OPEN_STATUSES)
           if pl.slot_id == slot.id]
    if dup:
        raise Conflict("Deltagaren har redan en öppen placering på den här praktikplatsen.",
                       details=[{"field": "slot_id", "message": "redan föreslagen",
                                 "placement_id": dup[0].id}])
    row = PlacementRow(participant_id=person.id, slot_id=slot.id,
                       proposed_by=ctx.principal.user_id or None,
                       status=PlacementStatus.proposed.value, proposed_on=ctx.today,
                       note=note, snapshot=profile_snapshot(person))
    ctx.session.add(row)
    ctx.session.flush()
    _event(ctx, row, "propose", None)
    ctx.session.flush()
    return PlacementView(row, person, slot, employer_view=False)


def transition(ctx: Context, placement_id: int, action: Action, *, reason: str | None = None,
               on: date | None = None) -> PlacementView:
    row, person, slot = access.placement(ctx, placement_id)
    side = _side(ctx, person, slot)
    old = PlacementStatus(row.status)
    t = plan_transition(action, old, side, reason)
    if reason is not None and len(reason) > REASON_MAX:  # the column's size, on every backend
        raise InvalidInput(f"Anledningen får vara högst {REASON_MAX} tecken.",
                           details=[{"field": "reason", "message": "För lång anledning."}])
    if action is Action.abort:
        try:
            AbortReason(reason)
        except ValueError:
            raise InvalidInput(
                "Ange en giltig anledning till avbrottet.",
                details=[{"field": "reason", "message": "Tillåtna: "
                          + ", ".join(r.value for r in AbortReason)}]) from None
    # Only a newly occupied place needs checking: accepted → started keeps its place.
    if t.occupies_place and old not in OCCUPYING_STATUSES:
        _ensure_free_place(ctx, slot)
    if action is Action.start:
        busy = [pl for pl in people.active_placements_of(
            ctx.session, person.id, (PlacementStatus.started.value,)) if pl.id != row.id]
        if busy:
            raise Conflict("Deltagaren har redan en pågående placering.")
    day = on or ctx.today
    was = person.status
    row.status = t.target.value
    if action in (Action.accept, Action.decline, Action.withdraw):
        row.decided_on = day
    if action is Action.decline:
        row.decline_reason = reason
    if action is Action.start:
        row.started_on = day
        person.status = ParticipantStatus.in_practice.value
    if action in (Action.complete, Action.abort):
        row.ended_on = day
        if action is Action.abort:
            row.abort_reason = reason
        if person.status == ParticipantStatus.in_practice.value:
            person.status = ParticipantStatus.waiting.value
    if t.occupies_place or old in OCCUPYING_STATUSES:
        catalog.lock_slot(ctx.session, slot.id)  # remaining places changed: bump the counter
    if person.status != was:  # the unit's waiting list changed: its matrices follow
        counters.bump(ctx.session, counters.participants_of(person.unit_id))
    ctx.session.flush()
    _event(ctx, row, action.value, old.value, reason)
    ctx.session.flush()
    return PlacementView(row, person, slot, employer_view=side is Side.employer)


def set_outcome(ctx: Context, placement_id: int, outcome: PlacementOutcome,
                on: date | None = None) -> PlacementView:
    row, person, slot = access.placement(ctx, placement_id)
    if _side(ctx, person, slot) is not Side.unit:
        raise Forbidden("Bara enhetens konsulenter registrerar utfall.")
    if row.status not in (PlacementStatus.completed.value, PlacementStatus.aborted.value):
        raise Conflict("Utfall registreras när placeringen är avslutad eller avbruten.")
    row.outcome, row.outcome_on = outcome.value, on or ctx.today
    ctx.session.flush()
    _event(ctx, row, "outcome", row.status, outcome.value)
    return PlacementView(row, person, slot, employer_view=False)


def get(ctx: Context, placement_id: int) -> PlacementView:
    row, person, slot = access.placement(ctx, placement_id)
    _audit_read(ctx, row, "placement.read")
    return PlacementView(row, person, slot, employer_view=ctx.principal.role is Role.employer)


def _audit_read(ctx: Context, row: PlacementRow, action: str) -> None:
    """A placement shows the participant's name and needs (and to the unit, the snapshot)."""
    audit.record(ctx.session, user_id=ctx.principal.user_id, action=action,
                 subject_type="participant", subject_id=row.participant_id,
                 detail={"placement_id": row.id})


def events(ctx: Context, placement_id: int) -> list[PlacementEventRow]:
    access.placement(ctx, placement_id)
    return people.events_of(ctx.session, placement_id)


def list_placements(ctx: Context, limit: int, offset: int, *, participant_id: int | None = None,
                    slot_id: int | None = None, status: str | None = None,
                    statuses: tuple[str, ...] | None = None, latest_ended_first: bool = False
                    ) -> tuple[list[PlacementView], int]:
    """One page of the placements the viewer may see (id order, or the latest ended first);
    only the placements on the page are audited as read."""
    p = ctx.principal
    unit_id = employer_id = None
    if p.role is Role.employer:
        employer_id = p.employer_id
    elif not p.is_system_admin:
        access.require_unit_staff(ctx)
        unit_id = p.unit_id
    stmt = people.placements_query(unit_id=unit_id, employer_id=employer_id,
                                   participant_id=participant_id, slot_id=slot_id,
                                   status=status, statuses=statuses,
                                   latest_ended_first=latest_ended_first)
    rows, total = base.page(ctx.session, stmt, limit, offset)
    for r in rows:
        _audit_read(ctx, r, "placement.list")
    return [_view(ctx, r) for r in rows], total


def _view(ctx: Context, row: PlacementRow) -> PlacementView:
    person = ctx.session.get(ParticipantRow, row.participant_id)
    slot = ctx.session.get(SlotRow, row.slot_id)
    assert person is not None and slot is not None
    return PlacementView(row, person, slot, employer_view=ctx.principal.role is Role.employer)
