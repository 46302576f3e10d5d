"""Units (enheter)."""

from __future__ import annotations

from fastapi import APIRouter

from matchning.api.deps import CtxDep, PagingDep
from matchning.api.responses import BY_ID, WRITE, WRITE_BY_ID
from matchning.api.schemas import Page, UnitPublic
from matchning.domain.records import Id, UnitData, make_partial
from matchning.services import units

router = APIRouter(prefix="/units", tags=["enheter"])
UnitPatch = make_partial(UnitData)


@router.post("", response_model=UnitPublic, status_code=201, responses=WRITE)
def create_unit(body: UnitData, ctx: CtxDep) -> UnitPublic:
    return UnitPublic.model_validate(units.create(ctx, body))


@router.get("", response_model=Page[UnitPublic])
def list_units(ctx: CtxDep, paging: PagingDep) -> Page[UnitPublic]:
    rows, total = units.list_units(ctx, paging.limit, paging.offset)
    return Page(items=[UnitPublic.model_validate(r) for r in rows], total=total)


@router.get("/{unit_id}", response_model=UnitPublic, responses=BY_ID)
def get_unit(unit_id: Id, ctx: CtxDep) -> UnitPublic:
    return UnitPublic.model_validate(units.get(ctx, unit_id))


@router.patch("/{unit_id}", response_model=UnitPublic, responses=WRITE_BY_ID)
def update_unit(unit_id: Id, body: UnitPatch, ctx: CtxDep) -> UnitPublic:  # type: ignore[valid-type]
    return UnitPublic.model_validate(units.update(ctx, unit_id,
                                                  body.model_dump(exclude_unset=True)))
