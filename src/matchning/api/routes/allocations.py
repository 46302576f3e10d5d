"""Allocation plans (fördelningsplaner): a plan for a unit's waiting participants over the
free places, and a consultant's accept or override per pair. 503 while no model is active."""

from __future__ import annotations

from fastapi import APIRouter

from matchning.api.allocation_schemas import (
    AcceptIn,
    AllocationIn,
    AllocationPairPublic,
    AllocationPublic,
    OverrideIn,
)
from matchning.api.deps import CtxDep
from matchning.api.responses import BY_ID, WRITE, WRITE_BY_ID
from matchning.domain.records import Id
from matchning.services import allocation

router = APIRouter(prefix="/allocations", tags=["fördelning"])


@router.post("", response_model=AllocationPublic, status_code=201, responses={**BY_ID, **WRITE})
def create(body: AllocationIn, ctx: CtxDep) -> AllocationPublic:
    """A plan for the unit: each waiting participant at most one slot, each slot at most its
    free places, the most expected completed placements (advice, never a decision)."""
    return AllocationPublic.of(allocation.create_plan(ctx, body.unit_id, body.options()))


@router.get("/{plan_id}", response_model=AllocationPublic, responses=BY_ID)
def get(plan_id: Id, ctx: CtxDep) -> AllocationPublic:
    return AllocationPublic.of(allocation.get_plan(ctx, plan_id))


@router.post("/{plan_id}/pairs/{participant_id}/accept", response_model=AllocationPairPublic,
             responses=WRITE_BY_ID)
def accept(plan_id: Id, participant_id: Id, ctx: CtxDep, body: AcceptIn | None = None
           ) -> AllocationPairPublic:
    """Follow the plan for the participant: the placement is proposed to the slot (409 when
    the slot has filled up since)."""
    return AllocationPairPublic.of(allocation.accept(ctx, plan_id, participant_id,
                                                     body.note if body else None))


@router.post("/{plan_id}/pairs/{participant_id}/override", response_model=AllocationPairPublic,
             responses=WRITE_BY_ID)
def override(plan_id: Id, participant_id: Id, body: OverrideIn, ctx: CtxDep
             ) -> AllocationPairPublic:
    """Do not follow the plan for the participant; a reason is required."""
    return AllocationPairPublic.of(allocation.override(ctx, plan_id, participant_id,
                                                       body.reason))
