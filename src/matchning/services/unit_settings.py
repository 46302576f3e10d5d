"""A unit's rule settings as its admin edits them: typed, with limits, on top of units.update.

Every setting has a type and a range (units.UnitSettings, checked for the API too); a refused
value is an InvalidInput naming the field.
"""

from __future__ import annotations

from typing import Any

from matchning.domain.vocab import Role
from matchning.errors import Forbidden
from matchning.services import access, units
from matchning.services.context import Context
from matchning.storage.tables import UnitRow

check = units.check_settings
UnitSettings = units.UnitSettings


def _require_editor(ctx: Context, unit_id: int) -> None:
    p = ctx.principal
    if not (p.is_system_admin or (p.role is Role.unit_admin and p.unit_id == unit_id)):
        raise Forbidden("Bara enhetens administratör ändrar enhetens inställningar.")


def require_any_editor(ctx: Context) -> None:
    """Forbidden unless the principal edits some unit's settings (unit or system admin)."""
    if ctx.principal.role not in (Role.unit_admin, Role.system_admin):
        raise Forbidden("Bara enhetens administratör ändrar enhetens inställningar.")


def current(ctx: Context, unit_id: int) -> tuple[UnitRow, dict[str, Any]]:
    """The unit and its settings in force (defaults where the unit has none)."""
    _require_editor(ctx, unit_id)
    row = access.unit(ctx, unit_id)
    return row, {**units.DEFAULT_UNIT_SETTINGS, **(row.settings or {})}


def update(ctx: Context, unit_id: int, values: dict[str, Any]) -> UnitRow:
    """Replace the unit's settings with `values` (every key, checked)."""
    _require_editor(ctx, unit_id)
    return units.update(ctx, unit_id, {"settings": check(values)})
