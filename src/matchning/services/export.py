"""Everything stored about one participant, as JSON-ready data (GDPR right of access)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect

from matchning.errors import NotFound
from matchning.services import access
from matchning.services.context import Context
from matchning.storage.repositories import allocations, audit, people
from matchning.storage.tables import Base, ParticipantRow


def _plain(row: Base | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = {}
    for col in inspect(row).mapper.column_attrs:
        value = getattr(row, col.key)
        if isinstance(value, (date, datetime)):
            value = value.isoformat()
        out[col.key] = value
    return out


def find_participant_id(ctx: Context, ident: str) -> int:
    """An internal id, or the unit's external id of a participant the principal may see."""
    if ident.isdigit():
        found = ctx.session.get(ParticipantRow, int(ident))
        if found is not None:
            return found.id
    unit = None if ctx.principal.is_system_admin else ctx.principal.unit_id
    row = people.participant_by_external_id(ctx.session, unit, ident)
    if row is None:
        raise NotFound(access.NO_PARTICIPANT)
    return row.id


def export_participant(ctx: Context, participant_id: int) -> dict[str, Any]:
    person = access.participant(ctx, participant_id)
    s = ctx.session
    placements = list(s.scalars(people.placements_query(participant_id=person.id)))
    feedback = list(s.scalars(people.feedback_query(participant_id=person.id)))
    audit_rows = audit.rows_about(s, "participant", person.id)
    data = {
        "exported_at": ctx.now().isoformat(),
        "participant": {k: v for k, v in (_plain(person) or {}).items()},
        "monitoring": _plain(people.monitoring_of(s, person.id)),
        "placements": [{**(_plain(p) or {}),
                        "events": [_plain(e) for e in people.events_of(s, p.id)]}
                       for p in placements],
        "feedback": [_plain(f) for f in feedback],
        "allocation_pairs": [_plain(pair) for pair, *_ in
                             allocations.pairs_of_participant(s, person.id, limit=None)],
        "audit": [_plain(a) for a in audit_rows],
    }
    audit.record(s, user_id=ctx.principal.user_id or None, action="participant.export",
                 subject_type="participant", subject_id=person.id)
    return data
