"""The placement status machine and who may move a placement along it.

proposed → accepted | declined | withdrawn;  accepted → started | withdrawn;
started → completed | aborted.  Accepting or starting occupies a place on the slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from matchning.domain.vocab import PlacementStatus as S
from matchning.errors import Forbidden, IllegalTransition, InvalidInput


class Side(StrEnum):
    unit = "unit"          # consultant or unit admin of the participant's unit
    employer = "employer"  # a user of the slot's employer


class Action(StrEnum):
    accept = "accept"
    decline = "decline"
    withdraw = "withdraw"
    start = "start"
    complete = "complete"
    abort = "abort"


@dataclass(frozen=True)
class Transition:
    sources: tuple[S, ...]
    target: S
    sides: frozenset[Side]
    needs_reason: bool = False
    occupies_place: bool = False


TRANSITIONS: dict[Action, Transition] = {
    # A consultant may accept or decline on the employer's behalf (after a phone call).
    Action.accept: Transition((S.proposed,), S.accepted, frozenset({Side.unit, Side.employer}),
                              occupies_place=True),
    Action.decline: Transition((S.proposed,), S.declined, frozenset({Side.unit, Side.employer}),
                               needs_reason=True),
    Action.withdraw: Transition((S.proposed, S.accepted), S.withdrawn, frozenset({Side.unit})),
    Action.start: Transition((S.accepted,), S.started, frozenset({Side.unit, Side.employer}),
                             occupies_place=True),
    Action.complete: Transition((S.started,), S.completed, frozenset({Side.unit, Side.employer})),
    Action.abort: Transition((S.started,), S.aborted, frozenset({Side.unit, Side.employer}),
                             needs_reason=True),
}

STATUS_SV = {
    S.proposed: "föreslagen", S.accepted: "accepterad", S.declined: "nekad",
    S.withdrawn: "återtagen", S.started: "pågår", S.completed: "avslutad", S.aborted: "avbruten",
}
ACTION_SV = {
    Action.accept: "acceptera", Action.decline: "neka", Action.withdraw: "återta",
    Action.start: "starta", Action.complete: "avsluta", Action.abort: "avbryta",
}


def plan_transition(action: Action, current: S, side: Side, reason: str | None) -> Transition:
    """Check that `side` may apply `action` to a placement in `current`; return the transition."""
    t = TRANSITIONS[action]
    if side not in t.sides:
        raise Forbidden(f"Du får inte {ACTION_SV[action]} en placering.")
    if current not in t.sources:
        allowed = " eller ".join(STATUS_SV[s] for s in t.sources)
        raise IllegalTransition(
            f"Det går inte att {ACTION_SV[action]} en placering som är {STATUS_SV[current]}; "
            f"den måste vara {allowed}.",
            details=[{"field": "status", "message": STATUS_SV[current], "value": current.value}],
        )
    if t.needs_reason and not (reason and reason.strip()):
        raise InvalidInput(f"Ange en anledning för att {ACTION_SV[action]} placeringen.",
                           details=[{"field": "reason", "message": "Anledning saknas."}])
    return t
