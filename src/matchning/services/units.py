"""Units (enheter): the tenants. System admins create them; unit admins edit their settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, ValidationError

from matchning.domain import validation
from matchning.domain.messages import translate
from matchning.domain.records import Record, UnitData
from matchning.domain.vocab import Role
from matchning.errors import Conflict, Forbidden, InvalidInput
from matchning.services import access
from matchning.services.context import Context
from matchning.storage.repositories import base, users
from matchning.storage.tables import UnitRow

# Rule defaults a unit may override (read by the matching engine).
DEFAULT_UNIT_SETTINGS: dict[str, Any] = {
    "default_max_commute_km": 30,
    "rejection_days": 90,           # "passar inte" keeps a slot out of the list this long
    "recent_abort_days": 180,       # no new suggestion at an employer after an abort
    "start_horizon_days": 60,       # suggest slots that start at most this far ahead
    "reduced_hours_max": 30,        # "reducerad arbetstid" caps the hours per week at this
}


class UnitSettings(Record):
    """The keys of units.DEFAULT_UNIT_SETTINGS with their types and sensible limits."""

    start_horizon_days: int = Field(60, ge=1, le=365)
    reduced_hours_max: float = Field(30, ge=1, le=40)
    rejection_days: int = Field(90, ge=1, le=730)
    recent_abort_days: int = Field(180, ge=0, le=730)
    default_max_commute_km: int = Field(30, ge=1, le=300)


def check_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The settings as typed values; InvalidInput with one detail per refused field."""
    try:
        parsed = UnitSettings.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput(details=[translate(e) for e in exc.errors()]) from None  # type: ignore[arg-type]
    return parsed.model_dump()


def _check(ctx: Context, data: UnitData) -> None:
    problems = [e for i, k in enumerate(data.kommuner)
                for e in validation.check_kommun(ctx.ref, f"kommuner[{i}]", k)]
    unknown = set(data.settings) - set(DEFAULT_UNIT_SETTINGS)
    if unknown:
        problems.append({"field": "settings", "message": "Okända inställningar: "
                         + ", ".join(sorted(unknown))})
    else:
        try:
            check_settings({**DEFAULT_UNIT_SETTINGS, **data.settings})
        except InvalidInput as exc:
            problems += [{**d, "field": f"settings.{d.get('field') or ''}".rstrip(".")}
                         for d in exc.details]
    if problems:
        raise InvalidInput(details=problems)


def create(ctx: Context, data: UnitData) -> UnitRow:
    access.require_role(ctx, Role.system_admin)
    _check(ctx, data)
    if users.unit_by_name(ctx.session, data.name):
        raise Conflict(f"Det finns redan en enhet som heter {data.name!r}.")
    row = UnitRow(name=data.name, kommuner=list(data.kommuner),
                  settings={**DEFAULT_UNIT_SETTINGS, **data.settings},
                  external_id=data.external_id)
    ctx.session.add(row)
    ctx.session.flush()
    return row


def get(ctx: Context, unit_id: int) -> UnitRow:
    return access.unit(ctx, unit_id)


def list_units(ctx: Context, limit: int, offset: int) -> tuple[Sequence[UnitRow], int]:
    p = ctx.principal
    if p.role is Role.employer:
        raise Forbidden()
    stmt = users.units_query(unit_id=None if p.is_system_admin else p.unit_id)
    return base.page(ctx.session, stmt, limit, offset)


def update(ctx: Context, unit_id: int, patch: dict[str, Any]) -> UnitRow:
    row = access.unit(ctx, unit_id)
    p = ctx.principal
    if not (p.is_system_admin or (p.role is Role.unit_admin and p.unit_id == unit_id)):
        raise Forbidden("Bara enhetens administratör kan ändra enheten.")
    if p.role is Role.unit_admin and set(patch) - {"settings"}:
        raise Forbidden("En enhetsadministratör kan bara ändra enhetens inställningar.")
    current = {"name": row.name, "kommuner": row.kommuner, "settings": {}, "external_id":
               row.external_id}
    merged = UnitData.model_validate({**current, **patch})
    _check(ctx, merged)
    if merged.name != row.name and users.unit_by_name(ctx.session, merged.name):
        raise Conflict(f"Det finns redan en enhet som heter {merged.name!r}.")
    row.name, row.kommuner, row.external_id = merged.name, list(merged.kommuner), \
        merged.external_id
    row.settings = {**DEFAULT_UNIT_SETTINGS, **row.settings, **merged.settings}
    ctx.session.flush()
    return row
