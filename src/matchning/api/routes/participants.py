"""Participants (deltagare) and their "passar inte" feedback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from matchning.api.deps import CtxDep, PagingDep
from matchning.api.responses import BY_ID, WRITE_BY_ID, errors
from matchning.api.routes.bodies import FeedbackIn
from matchning.api.schemas import FeedbackPublic, MonitoringPublic, Page, ParticipantPublic
from matchning.domain.records import Id, NoNul, ParticipantData, make_partial
from matchning.domain.vocab import ParticipantStatus, TargetGroup
from matchning.services import erasure, feedback, participants
from matchning.storage.tables import ParticipantRow

router = APIRouter(prefix="/participants", tags=["deltagare"])
ParticipantPatch = make_partial(ParticipantData)


def _public(row: ParticipantRow, monitoring=None) -> ParticipantPublic:
    out = ParticipantPublic.model_validate(row)
    out.has_personnummer = row.pnr_hash is not None
    out.monitoring = MonitoringPublic.model_validate(monitoring) if monitoring else None
    return out


@router.post("", response_model=ParticipantPublic, status_code=201, responses=WRITE_BY_ID)
def create_participant(body: ParticipantData, ctx: CtxDep) -> ParticipantPublic:
    row = participants.create(ctx, body)
    return _public(row, participants.monitoring(ctx, row.id))


@router.get("", response_model=Page[ParticipantPublic])
def list_participants(ctx: CtxDep, paging: PagingDep,
                      mine: bool = Query(False, description="Bara min egen ärendelista"),
                      status: ParticipantStatus | None = None,
                      target_group: TargetGroup | None = None,
                      q: Annotated[str | None, Query(max_length=100), NoNul] = None,
                      unit_id: Id | None = None) -> Page[ParticipantPublic]:
    rows, total = participants.list_participants(
        ctx, paging.limit, paging.offset, mine=mine,
        status=status.value if status else None,
        target_group=target_group.value if target_group else None, q=q, unit_id=unit_id)
    return Page(items=[_public(r) for r in rows], total=total)


@router.get("/{participant_id}", response_model=ParticipantPublic, responses=BY_ID)
def get_participant(participant_id: Id, ctx: CtxDep) -> ParticipantPublic:
    row = participants.get(ctx, participant_id)
    return _public(row, participants.monitoring(ctx, participant_id))


@router.patch("/{participant_id}", response_model=ParticipantPublic, responses=WRITE_BY_ID)
def update_participant(participant_id: Id, body: ParticipantPatch,  # type: ignore[valid-type]
                       ctx: CtxDep) -> ParticipantPublic:
    row = participants.update(ctx, participant_id, body.model_dump(exclude_unset=True))
    return _public(row, participants.monitoring(ctx, participant_id))


@router.delete("/{participant_id}", status_code=204, response_class=Response,
               responses=errors(404, 409))
def erase_participant(participant_id: Id, ctx: CtxDep) -> Response:
    """Erase the participant (GDPR art. 17): the profile goes; the placement history stays
    only under a new random id with no link back (docs/security.md)."""
    erasure.erase(ctx, participant_id)
    return Response(status_code=204)


@router.post("/{participant_id}/feedback", response_model=FeedbackPublic, status_code=201,
             responses=WRITE_BY_ID)
def not_suitable(participant_id: Id, body: FeedbackIn, ctx: CtxDep) -> FeedbackPublic:
    """Mark a slot "passar inte" for this participant, with a reason."""
    return FeedbackPublic.model_validate(
        feedback.reject_slot(ctx, participant_id, body.slot_id, body.reason))


@router.get("/{participant_id}/feedback", response_model=Page[FeedbackPublic], responses=BY_ID)
def list_feedback(participant_id: Id, ctx: CtxDep, paging: PagingDep
                  ) -> Page[FeedbackPublic]:
    rows, total = feedback.list_feedback(ctx, participant_id, paging.limit, paging.offset)
    return Page(items=[FeedbackPublic.model_validate(r) for r in rows], total=total)
