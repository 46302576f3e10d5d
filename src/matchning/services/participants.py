"""Participants (deltagare): a unit's caseload. Every read of a profile is audited."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from matchning import security
from matchning.domain import validation
from matchning.domain.records import MONITORING_FIELDS, ParticipantData
from matchning.domain.vocab import OCCUPYING_STATUSES, ParticipantStatus, PlacementStatus, Role
from matchning.errors import Conflict, Forbidden, InvalidInput
from matchning.services import access
from matchning.services.context import Context
from matchning.storage.repositories import audit, base, counters, people
from matchning.storage.tables import MonitoringRow, ParticipantRow, UnitRow, UserRow

DEFAULT_COMMUTE_KM = 30
PROFILE_FIELDS = tuple(f for f in ParticipantData.model_fields
                       if f not in MONITORING_FIELDS and f not in ("personnummer",))
_read_profile = operator.attrgetter(*PROFILE_FIELDS)


def _resolve_unit(ctx: Context, data: ParticipantData) -> int:
    p = ctx.principal
    if p.is_system_admin:
        if data.unit_id is None:
            raise InvalidInput(details=[{"field": "unit_id", "message": "Ange enhet."}])
        if ctx.session.get(UnitRow, data.unit_id) is None:
            raise InvalidInput(details=[{"field": "unit_id", "message": "Enheten finns inte."}])
        return data.unit_id
    access.require_unit_staff(ctx)
    if data.unit_id is not None and data.unit_id != p.unit_id:
        raise Forbidden("Du kan bara registrera deltagare i din egen enhet.")
    assert p.unit_id is not None
    return p.unit_id


def validate(ctx: Context, data: ParticipantData, unit_id: int) -> dict[str, Any]:
    """Reference checks; returns derived values (kommun from postcode, hashed personnummer)."""
    ref = ctx.ref
    problems = (
        validation.check_kommun(ref, "kommunkod", data.kommunkod)
        + validation.check_occupations(ref, "wished_occupations", data.wished_occupations)
        + validation.check_occupations(ref, "past_work", [w.code for w in data.past_work])
        + validation.check_licences("driving_licences", data.driving_licences)
        + validation.check_coordinates("lat", data.lat, data.lon)
    )
    derived: dict[str, Any] = {"kommunkod": data.kommunkod}
    if data.postcode:
        from_post = ref.kommun_for_postcode(data.postcode)
        if from_post is None and data.kommunkod is None:
            problems.append({"field": "postcode", "message": "Okänt postnummer; ange kommunkod."})
        elif from_post and data.kommunkod and from_post != data.kommunkod:
            problems.append({"field": "postcode", "message": "Postnumret ligger i en annan "
                             f"kommun ({ref.municipalities[from_post].name})."})
        derived["kommunkod"] = data.kommunkod or from_post
    if data.personnummer:
        pnr = security.normalise_personnummer(data.personnummer)
        if pnr is None:
            problems.append({"field": "personnummer", "message": "Ogiltigt personnummer."})
        else:
            derived["pnr_hash"] = security.personnummer_hash(ctx.settings.secret_key, pnr)
    if data.consultant_id is not None:
        c = ctx.session.get(UserRow, data.consultant_id)
        if c is None or c.unit_id != unit_id or c.role not in (Role.consultant, Role.unit_admin):
            problems.append({"field": "consultant_id",
                             "message": "Konsulenten finns inte i deltagarens enhet."})
    if problems:
        raise InvalidInput(details=problems)
    return derived


def _apply(ctx: Context, row: ParticipantRow, data: ParticipantData, derived: dict[str, Any]
           ) -> None:
    # The fields as they are (a model_dump would copy them, nested records too, for nothing:
    # `data` is not used after).
    values = dict(zip(PROFILE_FIELDS, _read_profile(data), strict=True))
    values["past_work"] = [w.model_dump() for w in data.past_work]
    values["skills"] = [ctx.ref.canonical_skill(s) for s in data.skills]
    values["adaptations"] = [a.value for a in data.adaptations]
    values["target_groups"] = [t.value for t in data.target_groups]
    values["enrolled_on"] = data.enrolled_on or row.enrolled_on or ctx.today
    values["postcode"] = data.postcode.replace(" ", "") if data.postcode else None
    values.update({k: v for k, v in derived.items() if k != "pnr_hash"})
    for name in PROFILE_FIELDS:
        if name == "unit_id":
            continue
        setattr(row, name, values[name])
    if "pnr_hash" in derived:
        row.pnr_hash = derived["pnr_hash"]


def _apply_monitoring(ctx: Context, row: ParticipantRow, data: ParticipantData,
                      sent: set[str]) -> None:
    if not sent & set(MONITORING_FIELDS):
        return
    mon = ctx.session.get(MonitoringRow, row.id) or MonitoringRow(participant_id=row.id)
    for name in MONITORING_FIELDS:
        if name in sent:
            setattr(mon, name, getattr(data, name))
    ctx.session.add(mon)


def default_commute_km(ctx: Context, unit_id: int) -> float:
    """The unit's default for how far a new participant can travel (a unit setting)."""
    unit = ctx.session.get(UnitRow, unit_id)
    settings = (unit.settings if unit else None) or {}
    return float(settings.get("default_max_commute_km", DEFAULT_COMMUTE_KM))


def create(ctx: Context, data: ParticipantData) -> ParticipantRow:
    unit_id = _resolve_unit(ctx, data)
    derived = validate(ctx, data, unit_id)
    if data.external_id and people.participant_by_external_id(ctx.session, unit_id,
                                                                data.external_id):
        raise Conflict(f"Enheten har redan en deltagare med id {data.external_id!r}.")
    if data.status in (ParticipantStatus.in_practice,):
        raise Conflict("En ny deltagare kan inte vara i praktik; starta en placering.")
    row = ParticipantRow(unit_id=unit_id, version=1)
    if data.consultant_id is None and ctx.principal.role is Role.consultant:
        data = data.model_copy(update={"consultant_id": ctx.principal.user_id})
    if "max_commute_km" not in data.model_fields_set:
        data = data.model_copy(update={"max_commute_km": default_commute_km(ctx, unit_id)})
    _apply(ctx, row, data, derived)
    ctx.session.add(row)
    ctx.session.flush()
    counters.bump(ctx.session, counters.participants_of(unit_id))  # workers' matrices follow
    _apply_monitoring(ctx, row, data, data.model_fields_set)
    audit.record(ctx.session, user_id=ctx.principal.user_id, action="participant.create",
                 subject_type="participant", subject_id=row.id)
    ctx.session.flush()
    return row


def as_data(row: ParticipantRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in PROFILE_FIELDS}


def get(ctx: Context, participant_id: int) -> ParticipantRow:
    row = access.participant(ctx, participant_id)
    audit.record(ctx.session, user_id=ctx.principal.user_id, action="participant.read",
                 subject_type="participant", subject_id=row.id)
    return row


def monitoring(ctx: Context, participant_id: int) -> MonitoringRow | None:
    access.participant(ctx, participant_id)
    return people.monitoring_of(ctx.session, participant_id)


def _check_status_change(ctx: Context, row: ParticipantRow, new: ParticipantStatus) -> None:
    old = ParticipantStatus(row.status)
    if old == new:
        return
    active = people.active_placements_of(ctx.session, row.id, (PlacementStatus.started.value,))
    if new is ParticipantStatus.in_practice and not active:
        raise Conflict("Status 'i praktik' sätts när en placering startar.")
    if old is ParticipantStatus.in_practice and active:
        raise Conflict("Deltagaren har en pågående placering; avsluta eller avbryt den först.")
    if new is ParticipantStatus.ended:
        pending = people.active_placements_of(
            ctx.session, row.id, tuple(s.value for s in (PlacementStatus.proposed,
                                                         *OCCUPYING_STATUSES)))
        if pending:
            raise Conflict("Deltagaren har öppna placeringar; återta eller avsluta dem först.")


def update(ctx: Context, participant_id: int, patch: dict[str, Any]) -> ParticipantRow:
    row = access.participant(ctx, participant_id)
    if ctx.principal.role is not Role.system_admin:
        access.require_unit_staff(ctx)
    if "unit_id" in patch and patch["unit_id"] not in (None, row.unit_id):
        raise Forbidden("En deltagare kan inte flyttas till en annan enhet här.")
    current = as_data(row)
    current["unit_id"] = row.unit_id
    if row.status == ParticipantStatus.ended.value and "status" in patch and \
            patch["status"] != ParticipantStatus.ended.value:
        current["exit_outcome"], current["exit_date"] = None, None
    data = ParticipantData.model_validate({**current, **patch})
    _check_status_change(ctx, row, data.status)
    derived = validate(ctx, data, row.unit_id)
    if data.external_id and data.external_id != row.external_id:
        other = people.participant_by_external_id(ctx.session, row.unit_id, data.external_id)
        if other is not None:
            raise Conflict(f"Enheten har redan en deltagare med id {data.external_id!r}.")
    if data.status is ParticipantStatus.ended and data.exit_date is None:
        data = data.model_copy(update={"exit_date": ctx.today})
    _apply(ctx, row, data, derived)
    _apply_monitoring(ctx, row, data, set(patch))
    row.version += 1
    counters.bump(ctx.session, counters.participants_of(row.unit_id))  # workers' matrices
    audit.record(ctx.session, user_id=ctx.principal.user_id, action="participant.update",
                 subject_type="participant", subject_id=row.id,
                 detail={"fields": sorted(patch)})
    ctx.session.flush()
    return row


def list_participants(ctx: Context, limit: int, offset: int, *, mine: bool = False,
                      status: str | None = None, target_group: str | None = None,
                      q: str | None = None, unit_id: int | None = None
                      ) -> tuple[Sequence[ParticipantRow], int]:
    p = ctx.principal
    if p.is_system_admin:
        scope = unit_id
    else:
        access.require_unit_staff(ctx)
        if unit_id is not None and unit_id != p.unit_id:
            raise Forbidden("Du ser bara deltagare i din egen enhet.")
        scope = p.unit_id
    stmt = people.participants_query(unit_id=scope, consultant_id=p.user_id if mine else None,
                                     status=status, target_group=target_group, q=q)
    rows, total = base.page(ctx.session, stmt, limit, offset)
    # A list returns whole profiles: every one of them is a read (DESIGN.md, security model).
    for row in rows:
        audit.record(ctx.session, user_id=p.user_id, action="participant.list",
                     subject_type="participant", subject_id=row.id)
    return rows, total
