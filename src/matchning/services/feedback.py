"""A consultant's "passar inte": this suggested slot does not suit this participant."""

from __future__ import annotations

from collections.abc import Sequence

from matchning.errors import NotFound
from matchning.services import access
from matchning.services.context import Context
from matchning.storage.repositories import audit, base, people
from matchning.storage.tables import FeedbackRow, SlotRow


def reject_slot(ctx: Context, participant_id: int, slot_id: int, reason: str) -> FeedbackRow:
    access.require_unit_staff(ctx)
    person = access.participant(ctx, participant_id)
    if ctx.session.get(SlotRow, slot_id) is None:
        raise NotFound("Praktikplatsen finns inte.")
    row = FeedbackRow(participant_id=person.id, slot_id=slot_id,
                      user_id=ctx.principal.user_id or None, reason=reason, created_at=ctx.now())
    ctx.session.add(row)
    ctx.session.flush()
    audit.record(ctx.session, user_id=ctx.principal.user_id, action="feedback.not_suitable",
                 subject_type="participant", subject_id=person.id,
                 detail={"slot_id": slot_id})
    return row


def list_feedback(ctx: Context, participant_id: int, limit: int, offset: int
                  ) -> tuple[Sequence[FeedbackRow], int]:
    access.participant(ctx, participant_id)
    return base.page(ctx.session, people.feedback_query(participant_id=participant_id),
                     limit, offset)
