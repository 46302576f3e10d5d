"""Slots (praktikplatser)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from matchning.api.deps import CtxDep, PagingDep
from matchning.api.responses import BY_ID, WRITE_BY_ID
from matchning.api.schemas import Page, SlotPublic
from matchning.domain.records import Id, NoNul, SlotData, make_partial
from matchning.domain.vocab import SlotStatus
from matchning.services import slots

router = APIRouter(prefix="/slots", tags=["praktikplatser"])
SlotPatch = make_partial(SlotData)


@router.post("", response_model=SlotPublic, status_code=201, responses=WRITE_BY_ID)
def create_slot(body: SlotData, ctx: CtxDep) -> SlotPublic:
    row = slots.create(ctx, body)
    return SlotPublic.of(slots.view(ctx, [row])[0])


@router.get("", response_model=Page[SlotPublic])
def list_slots(ctx: CtxDep, paging: PagingDep, employer_id: Id | None = None,
               status: SlotStatus | None = None,
               kommunkod: str | None = Query(None, pattern=r"^\d{4}$"),
               occupation: str | None = Query(None, pattern=r"^\d{1,4}$",
                                              description="SSYK-kod eller början av en"),
               q: Annotated[str | None, Query(max_length=100), NoNul] = None,
               free: bool = Query(False, description="Bara platser med lediga platser")
               ) -> Page[SlotPublic]:
    views, total = slots.list_slots(ctx, paging.limit, paging.offset, employer_id=employer_id,
                                    status=status.value if status else None,
                                    kommunkod=kommunkod, occupation=occupation, q=q,
                                    with_free_places=free)
    return Page(items=[SlotPublic.of(v) for v in views], total=total)


@router.get("/{slot_id}", response_model=SlotPublic, responses=BY_ID)
def get_slot(slot_id: Id, ctx: CtxDep) -> SlotPublic:
    return SlotPublic.of(slots.get(ctx, slot_id))


@router.patch("/{slot_id}", response_model=SlotPublic, responses=WRITE_BY_ID)
def update_slot(slot_id: Id, body: SlotPatch, ctx: CtxDep) -> SlotPublic:  # type: ignore[valid-type]
    row = slots.update(ctx, slot_id, body.model_dump(exclude_unset=True))
    return SlotPublic.of(slots.view(ctx, [row])[0])
