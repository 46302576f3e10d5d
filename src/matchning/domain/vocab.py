"""Closed vocabularies of the domain. Values are the Swedish words stored and shown."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    consultant = "consultant"
    employer = "employer"
    unit_admin = "unit_admin"
    system_admin = "system_admin"


class Sector(StrEnum):
    privat = "privat"
    offentlig = "offentlig"
    ideell = "ideell"


class SizeBand(StrEnum):
    """Employee count bands as SCB reports them."""

    micro = "1-9"
    small = "10-49"
    medium = "50-249"
    large = "250+"


class SwedishLevel(StrEnum):
    sfi_a = "A"
    sfi_b = "B"
    sfi_c = "C"
    sfi_d = "D"
    fluent = "flytande"
    native = "modersmål"

    @property
    def rank(self) -> int:
        return SWEDISH_RANK[self]


SWEDISH_RANK = {lvl: i for i, lvl in enumerate(SwedishLevel)}


class PhysicalDemand(StrEnum):
    light = "lätt"
    medium = "medel"
    heavy = "tung"


class SlotStatus(StrEnum):
    open = "open"
    paused = "paused"
    closed = "closed"


class ParticipantStatus(StrEnum):
    waiting = "väntande"
    in_practice = "i praktik"
    paused = "pausad"
    ended = "avslutad"


class ExitOutcome(StrEnum):
    work = "arbete"
    studies = "studier"
    other_intervention = "annan insats"
    other = "övrigt"


class PlacementStatus(StrEnum):
    proposed = "proposed"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"
    started = "started"
    completed = "completed"
    aborted = "aborted"


OCCUPYING_STATUSES = (PlacementStatus.accepted, PlacementStatus.started)
ENDED_STATUSES = (
    PlacementStatus.declined, PlacementStatus.withdrawn,
    PlacementStatus.completed, PlacementStatus.aborted,
)


class PlacementOutcome(StrEnum):
    work = "arbete"
    studies = "studier"
    other_intervention = "annan insats"
    none = "ingen"


class AbortReason(StrEnum):
    got_job = "fick arbete"
    health = "hälsa"
    mismatch = "matchade inte"
    employer_ended = "arbetsgivaren avbröt"
    participant_ended = "deltagaren avbröt"
    other = "övrigt"


class TargetGroup(StrEnum):
    youth = "ungdom"
    long_term_unemployed = "långtidsarbetslös"
    newly_arrived = "nyanländ"
    rehabilitation = "rehabilitering"
    income_support = "försörjningsstöd"


class AdaptationNeed(StrEnum):
    no_heavy_lifting = "inga tunga lyft"
    accessible_workplace = "tillgänglig arbetsplats"
    reduced_hours = "reducerad arbetstid"


class Gender(StrEnum):
    woman = "kvinna"
    man = "man"
    other = "annat"


DRIVING_LICENCES = ("AM", "A1", "A2", "A", "B", "BE", "C1", "C1E", "C", "CE", "D1", "D1E", "D",
                    "DE", "TRAKTOR")

# SUN 2020 level 1 codes: the education level recorded for a participant.
EDUCATION_LEVELS = ("0", "1", "2", "3", "4", "5", "6")
