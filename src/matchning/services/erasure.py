"""Erasure of a participant (GDPR art. 17), on request or when the retention period ends.

The profile goes: name, references, personnummer hash, free text, postcode and coordinates,
fairness-monitoring fields, adaptation needs, and every derived row. What stays, for training
and statistics only, is the placement and feedback history under a pseudonym (a new random
id with no link back) with a coarse snapshot: occupation codes, skill labels, kommun, Swedish
level and hours. Audit rows about the person are re-keyed to the pseudonym.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from matchning.domain.records import ParticipantData
from matchning.domain.snapshot import SNAPSHOT_FIELDS
from matchning.domain.vocab import AbortReason, PlacementOutcome
from matchning.errors import Conflict, InvalidInput, NotFound
from matchning.reference import ReferenceData
from matchning.reference.catalog import normalise
from matchning.services import access
from matchning.services.context import Context
from matchning.services.placements import OPEN_STATUSES
from matchning.storage.repositories import audit, counters, people, privacy
from matchning.storage.tables import ParticipantRow

# What the pseudonymous history keeps of a profile, and the neutral value of everything else.
KEPT_FIELDS = ("kommunkod", "swedish_level", "max_hours_per_week", "wished_occupations",
               "past_work", "skills")
NEUTRAL: dict[str, Any] = {
    "lat": None, "lon": None,
    "max_commute_km": ParticipantData.model_fields["max_commute_km"].default,
    "driving_licences": [], "own_car": False, "other_languages": [], "education_level": None,
    "profile_text": "", "earliest_start": None, "needs_supervisor": False, "adaptations": [],
}
# A new snapshot field must be placed here on purpose, or this module refuses to load.
if set(KEPT_FIELDS) | set(NEUTRAL) != set(SNAPSHOT_FIELDS) or set(KEPT_FIELDS) & set(NEUTRAL):
    raise ImportError("erasure: every snapshot field must be either kept or neutral")

# Event reasons that are codes, not free text (abort reasons, outcomes): kept.
CODED_REASONS = frozenset(r.value for r in AbortReason) | frozenset(
    o.value for o in PlacementOutcome)


@dataclass(frozen=True)
class Erasure:
    pseudonym_id: int
    placements: int
    feedback: int
    audit_rows: int
    derived: dict[str, int]


def coarse_snapshot(profile: Mapping[str, Any], ref: ReferenceData) -> dict[str, Any]:
    """The kept fields of a snapshot, cleaned to codes and taxonomy labels; the rest neutral."""
    codes = [str(c) for c in profile.get("wished_occupations") or []
             if ref.is_occupation_code(str(c))]
    past = [{"code": str(w["code"]), "years": float(w.get("years") or 0)}
            for w in profile.get("past_work") or []
            if isinstance(w, Mapping) and ref.is_occupation_code(str(w.get("code")))]
    skills = sorted({ref.skills[normalise(s)] for s in profile.get("skills") or []
                     if isinstance(s, str) and normalise(s) in ref.skills})
    kommun = profile.get("kommunkod")
    hours = profile.get("max_hours_per_week")
    return {
        **NEUTRAL,
        "kommunkod": kommun if kommun and ref.is_kommunkod(kommun) else None,
        "swedish_level": profile.get("swedish_level"),
        "max_hours_per_week": float(hours) if hours is not None else None,
        "wished_occupations": codes, "past_work": past, "skills": skills,
    }


def _year_only(day: date | None) -> date | None:
    return date(day.year, 1, 1) if day is not None else None


def _pseudonym_row(ctx: Context, person: ParticipantRow, new_id: int) -> ParticipantRow:
    coarse = coarse_snapshot({f: getattr(person, f) for f in SNAPSHOT_FIELDS}, ctx.ref)
    return ParticipantRow(
        id=new_id, unit_id=person.unit_id, consultant_id=None, external_id=None,
        pnr_hash=None, display_name="", status=privacy.ERASED,
        exit_outcome=person.exit_outcome, exit_date=_year_only(person.exit_date),
        enrolled_on=_year_only(person.enrolled_on), postcode=None,
        adaptations_consent_date=None, target_groups=[], version=1,
        **{**coarse, "kommunkod": coarse["kommunkod"] or person.kommunkod})


def check_erasable(ctx: Context, person: ParticipantRow) -> None:
    """Conflict while the person has open placements: an employer still expects them."""
    if people.active_placements_of(ctx.session, person.id, OPEN_STATUSES):
        raise Conflict("Deltagaren har öppna placeringar; återta, avsluta eller avbryt dem "
                       "innan uppgifterna raderas.")


def find_participant(ctx: Context, ident: str) -> int:
    """An internal id, or an external id that only one unit uses (the CLI's argument)."""
    if ident.isdigit():
        row = ctx.session.get(ParticipantRow, int(ident))
        if row is not None and row.status != privacy.ERASED:
            return row.id
    found = people.participants_with_external_id(ctx.session, ident)
    if not found:
        raise NotFound(access.NO_PARTICIPANT)
    if len(found) > 1:
        raise InvalidInput(f"Flera enheter har en deltagare med id {ident!r}; ange det "
                           "interna id:t.")
    return found[0].id


def erase(ctx: Context, participant_id: int) -> Erasure:
    """Erase a participant on request: a consultant or unit admin of its unit, or the system
    (CLI)."""
    access.require_unit_staff_or_system(ctx)
    person = access.participant(ctx, participant_id)
    return erase_row(ctx, person, reason="request")


def erase_row(ctx: Context, person: ParticipantRow, *, reason: str) -> Erasure:
    """Erase `person` (already checked for access): move the history, delete the rest."""
    check_erasable(ctx, person)
    s = ctx.session
    old_id, new_id = person.id, privacy.new_pseudonym_id(s)
    s.add(_pseudonym_row(ctx, person, new_id))
    s.flush()
    placements = privacy.placements_of(s, old_id)
    for pl in placements:
        pl.participant_id = new_id
        pl.snapshot = coarse_snapshot(pl.snapshot or {}, ctx.ref)
        pl.note = pl.decline_reason = pl.external_id = None
    for ev in privacy.events_of(s, [pl.id for pl in placements]):
        if ev.reason not in CODED_REASONS:
            ev.reason = None
    feedback = privacy.feedback_of(s, old_id)
    for fb in feedback:
        fb.participant_id, fb.reason = new_id, ""
    s.flush()
    rekeyed = audit.rekey(s, old_id, new_id)
    unit_id = person.unit_id
    derived = privacy.delete_profile(s, person)
    counters.bump(s, counters.participants_of(unit_id))  # workers' cached matrices drop them
    audit.record(s, user_id=ctx.principal.user_id, action="participant.erase",
                 subject_type="participant", subject_id=new_id,
                 detail={"reason": reason, "placements": len(placements),
                         "feedback": len(feedback), "audit_rows": rekeyed},
                 at=ctx.now())
    s.flush()
    return Erasure(new_id, len(placements), len(feedback), rekeyed, derived)
