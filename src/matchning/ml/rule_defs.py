"""What the hard rules are: codes, Swedish texts, and the inputs both rule engines share.

Two engines implement these rules independently: `ml.rules` (vectorised over all slots, used
for serving and evaluation) and `ml.rules_check` (plain row by row, used by the tests and by
`evaluate` to count violations). Neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Order matters only for display: the first failing rule is named first.
RULES: dict[str, str] = {
    "slot_not_open": "Platsen är inte öppen för nya placeringar (pausad eller stängd).",
    "period_over": "Praktikperioden har redan tagit slut.",
    "starts_too_late": "Platsen börjar för långt fram i tiden.",
    "no_free_place": "Alla platser är redan tagna.",
    "too_far": "Längre bort än deltagarens maxavstånd.",
    "driving_licence": "Kräver ett körkort som deltagaren saknar.",
    "swedish_level": "Kräver högre nivå i svenska än deltagaren har.",
    "physical_demand": "Tungt arbete – deltagaren ska undvika tunga lyft.",
    "not_accessible": "Arbetsplatsen är inte tillgänglighetsanpassad.",
    "too_many_hours": "Fler timmar per vecka än deltagaren kan arbeta.",
    "ends_before_start": "Platsen slutar innan deltagaren kan börja.",
    "already_proposed": "Deltagaren är redan föreslagen eller placerad här.",
    "not_suitable": "Markerad som \"passar inte\" för deltagaren.",
    "recent_abort": "En placering hos arbetsgivaren avbröts nyligen.",
}
RULE_CODES: tuple[str, ...] = tuple(RULES)

# Adaptation needs (domain.vocab.AdaptationNeed values) that act as hard constraints.
NO_HEAVY_LIFTING = "inga tunga lyft"
ACCESSIBLE_WORKPLACE = "tillgänglig arbetsplats"
REDUCED_HOURS = "reducerad arbetstid"
HEAVY = "tung"

# A driving licence also gives the right to drive what the classes below it cover
# (Transportstyrelsen: B covers AM and traktor; C requires B; CE covers C; ...).
LICENCE_IMPLIES: dict[str, frozenset[str]] = {
    "AM": frozenset(),
    "A1": frozenset({"AM"}),
    "A2": frozenset({"A1", "AM"}),
    "A": frozenset({"A2", "A1", "AM"}),
    "B": frozenset({"AM", "TRAKTOR"}),
    "BE": frozenset({"B", "AM", "TRAKTOR"}),
    "C1": frozenset({"B", "AM", "TRAKTOR"}),
    "C1E": frozenset({"C1", "BE", "B", "AM", "TRAKTOR"}),
    "C": frozenset({"C1", "B", "AM", "TRAKTOR"}),
    "CE": frozenset({"C", "C1", "C1E", "BE", "B", "AM", "TRAKTOR"}),
    "D1": frozenset({"B", "AM", "TRAKTOR"}),
    "D1E": frozenset({"D1", "BE", "B", "AM", "TRAKTOR"}),
    "D": frozenset({"D1", "B", "AM", "TRAKTOR"}),
    "DE": frozenset({"D", "D1", "D1E", "BE", "B", "AM", "TRAKTOR"}),
    "TRAKTOR": frozenset(),
}


def licences_held(licences: list[str] | tuple[str, ...] | None) -> frozenset[str]:
    """The classes a participant may drive: those held and those they cover."""
    held: set[str] = set()
    for lic in licences or ():
        held.add(lic)
        held |= LICENCE_IMPLIES.get(lic, frozenset())
    return frozenset(held)


@dataclass(frozen=True)
class RuleSettings:
    """Limits of the rules; unit settings (see services.units.DEFAULT_UNIT_SETTINGS) and
    installation settings feed them."""

    start_horizon_days: int = 60      # a slot may start at most this long after "today"
    reduced_hours_max: float = 30.0   # "reducerad arbetstid" caps the hours at this
    same_kommun_km: float = 5.0       # distance when neither side has a point, same kommun


@dataclass(frozen=True)
class PairHistory:
    """What the participant's history forbids, as of the day the rules are applied.

    The caller has already applied the unit's periods (rejection_days, recent_abort_days):
    `rejected_slots` holds only "passar inte" marks still in force and `aborted_employers`
    only employers with a recent abort.
    """

    blocked_slots: frozenset[int] = field(default_factory=frozenset)   # earlier placements
    rejected_slots: frozenset[int] = field(default_factory=frozenset)  # "passar inte"
    aborted_employers: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class RuleDay:
    """The day the rules are applied and the settings in force."""

    today: date
    settings: RuleSettings = field(default_factory=RuleSettings)
