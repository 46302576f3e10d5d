"""Placements (placeringar): propose, then explicit actions along the status machine."""

from __future__ import annotations

from fastapi import APIRouter

from matchning.api.deps import CtxDep, PagingDep
from matchning.api.responses import BY_ID, WRITE_BY_ID
from matchning.api.routes.bodies import OutcomeIn, ProposeIn, TransitionIn
from matchning.api.schemas import Page, PlacementEventPublic, PlacementPublic
from matchning.domain.placement_flow import Action
from matchning.domain.records import Id
from matchning.domain.vocab import PlacementStatus
from matchning.services import placements

router = APIRouter(prefix="/placements", tags=["placeringar"])


@router.post("", response_model=PlacementPublic, status_code=201, responses=WRITE_BY_ID)
def propose(body: ProposeIn, ctx: CtxDep) -> PlacementPublic:
    return PlacementPublic.of(placements.propose(ctx, body.participant_id, body.slot_id,
                                                 body.note))


@router.get("", response_model=Page[PlacementPublic])
def list_placements(ctx: CtxDep, paging: PagingDep, participant_id: Id | None = None,
                    slot_id: Id | None = None, status: PlacementStatus | None = None
                    ) -> Page[PlacementPublic]:
    views, total = placements.list_placements(
        ctx, paging.limit, paging.offset, participant_id=participant_id, slot_id=slot_id,
        status=status.value if status else None)
    return Page(items=[PlacementPublic.of(v) for v in views], total=total)


@router.get("/{placement_id}", response_model=PlacementPublic, responses=BY_ID)
def get_placement(placement_id: Id, ctx: CtxDep) -> PlacementPublic:
    return PlacementPublic.of(placements.get(ctx, placement_id))


@router.get("/{placement_id}/events", response_model=list[PlacementEventPublic], responses=BY_ID)
def placement_events(placement_id: Id, ctx: CtxDep) -> list[PlacementEventPublic]:
    return [PlacementEventPublic.model_validate(e) for e in placements.events(ctx, placement_id)]


@router.post("/{placement_id}/{action}", response_model=PlacementPublic, responses=WRITE_BY_ID)
def act(placement_id: Id, action: Action, ctx: CtxDep,
        body: TransitionIn | None = None) -> PlacementPublic:
    """accept, decline (reason), withdraw, start, complete, abort (reason: see AbortReason)."""
    body = body or TransitionIn()
    return PlacementPublic.of(placements.transition(ctx, placement_id, action,
                                                    reason=body.reason, on=body.on))


@router.put("/{placement_id}/outcome", response_model=PlacementPublic, responses=WRITE_BY_ID)
def set_outcome(placement_id: Id, body: OutcomeIn, ctx: CtxDep) -> PlacementPublic:
    return PlacementPublic.of(placements.set_outcome(ctx, placement_id, body.outcome, body.on))
