"""Employers (arbetsgivare)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from matchning.api.deps import CtxDep, PagingDep
from matchning.api.responses import BY_ID, WRITE, WRITE_BY_ID
from matchning.api.schemas import EmployerPublic, Page
from matchning.domain.records import EmployerData, Id, NoNul, make_partial
from matchning.domain.vocab import Sector
from matchning.services import employers

router = APIRouter(prefix="/employers", tags=["arbetsgivare"])
EmployerPatch = make_partial(EmployerData)


@router.post("", response_model=EmployerPublic, status_code=201, responses=WRITE)
def create_employer(body: EmployerData, ctx: CtxDep) -> EmployerPublic:
    return EmployerPublic.model_validate(employers.create(ctx, body))


@router.get("", response_model=Page[EmployerPublic])
def list_employers(ctx: CtxDep, paging: PagingDep,
                   q: Annotated[str | None, Query(max_length=100), NoNul] = None,
                   kommunkod: str | None = Query(None, pattern=r"^\d{4}$"),
                   sector: Sector | None = None) -> Page[EmployerPublic]:
    rows, total = employers.list_employers(ctx, paging.limit, paging.offset, q=q,
                                           kommunkod=kommunkod,
                                           sector=sector.value if sector else None)
    return Page(items=[EmployerPublic.model_validate(r) for r in rows], total=total)


@router.get("/{employer_id}", response_model=EmployerPublic, responses=BY_ID)
def get_employer(employer_id: Id, ctx: CtxDep) -> EmployerPublic:
    return EmployerPublic.model_validate(employers.get(ctx, employer_id))


@router.patch("/{employer_id}", response_model=EmployerPublic, responses=WRITE_BY_ID)
def update_employer(employer_id: Id, body: EmployerPatch,  # type: ignore[valid-type]
                    ctx: CtxDep) -> EmployerPublic:
    return EmployerPublic.model_validate(
        employers.update(ctx, employer_id, body.model_dump(exclude_unset=True)))
