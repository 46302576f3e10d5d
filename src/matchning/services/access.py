"""Scoping rules per DESIGN.md, applied when a service loads a row for a principal.

A consultant's view ends at its unit: another unit's participant is 404 (its existence must not
leak). An employer sees its own employer and slots, and only the placements proposed to it.
"""

from __future__ import annotations

from matchning.domain.principal import SYSTEM
from matchning.domain.vocab import Role
from matchning.errors import Forbidden, NotFound
from matchning.services.context import Context
from matchning.storage.repositories.privacy import ERASED
from matchning.storage.tables import EmployerRow, ParticipantRow, PlacementRow, SlotRow, UnitRow

NO_PARTICIPANT = "Deltagaren finns inte eller tillhör en annan enhet."


def require_role(ctx: Context, *roles: Role) -> None:
    if ctx.principal.role not in roles:
        raise Forbidden()


def require_unit_staff(ctx: Context) -> None:
    if not ctx.principal.is_unit_staff:
        raise Forbidden("Bara arbetskonsulenter och enhetsadministratörer får göra detta.")


def require_unit_staff_or_system(ctx: Context) -> None:
    """Unit staff, or the system itself (the CLI and scheduled jobs), never a person with
    another role."""
    if ctx.principal is not SYSTEM:
        require_unit_staff(ctx)


def unit(ctx: Context, unit_id: int) -> UnitRow:
    row = ctx.session.get(UnitRow, unit_id)
    p = ctx.principal
    if row is None or not (p.is_system_admin or p.in_unit(unit_id)):
        if p.role is Role.employer:
            raise Forbidden()
        raise NotFound("Enheten finns inte.")
    return row


def participant(ctx: Context, participant_id: int) -> ParticipantRow:
    """The participant if the principal works in its unit; 404 otherwise."""
    _no_employer(ctx)
    return _visible(ctx, ctx.session.get(ParticipantRow, participant_id))


def visible_participant(ctx: Context, row: ParticipantRow | None) -> ParticipantRow:
    """`participant` for a row the caller read itself (with more in the same statement)."""
    _no_employer(ctx)
    return _visible(ctx, row)


def _no_employer(ctx: Context) -> None:
    if ctx.principal.role is Role.employer:
        raise Forbidden("Arbetsgivare har inte tillgång till deltagares profiler.")


def _visible(ctx: Context, row: ParticipantRow | None) -> ParticipantRow:
    p = ctx.principal
    # An erased participant's pseudonym serves training and statistics only: never shown.
    if row is None or row.status == ERASED or not (p.is_system_admin or p.in_unit(row.unit_id)):
        raise NotFound(NO_PARTICIPANT)
    return row


def employer(ctx: Context, employer_id: int) -> EmployerRow:
    """Employers are shared by all units; an employer user reaches only its own."""
    row = ctx.session.get(EmployerRow, employer_id)
    if row is None:
        raise NotFound("Arbetsgivaren finns inte.")
    p = ctx.principal
    if p.role is Role.employer and not p.owns_employer(employer_id):
        raise Forbidden("Du kan bara se din egen arbetsgivare.")
    return row


def slot_for_read(ctx: Context, slot_id: int) -> SlotRow:
    row = ctx.session.get(SlotRow, slot_id)
    if row is None:
        raise NotFound("Praktikplatsen finns inte.")
    p = ctx.principal
    if p.role is Role.employer and not p.owns_employer(row.employer_id):
        raise Forbidden("Du kan bara se dina egna praktikplatser.")
    return row


def placement(ctx: Context, placement_id: int) -> tuple[PlacementRow, ParticipantRow, SlotRow]:
    """The placement with its participant and slot, if the principal may see it."""
    row = ctx.session.get(PlacementRow, placement_id)
    if row is None:
        raise NotFound("Placeringen finns inte.")
    person = ctx.session.get(ParticipantRow, row.participant_id)
    slot = ctx.session.get(SlotRow, row.slot_id)
    assert person is not None and slot is not None
    if person.status == ERASED:
        raise NotFound("Placeringen finns inte.")
    p = ctx.principal
    if p.role is Role.employer:
        if not p.owns_employer(slot.employer_id):
            raise NotFound("Placeringen finns inte.")
    elif not (p.is_system_admin or p.in_unit(person.unit_id)):
        raise NotFound("Placeringen finns inte.")
    return row, person, slot
