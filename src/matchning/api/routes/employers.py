"""Employers (arbetsgivare)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from matchning.api.deps import CtxDep, PagingDep
from matchning.api.schemas import EmployerPublic, Page
from matchning.domain.records import EmployerData, make_partial
from matchning.domain.vocab import Sector
from matchning.services import employers

router = APIRouter(prefix="/employers", tags=["arbetsgivare"])
EmployerPatch = make_partial(EmployerData)


@router.post("", response_model=EmployerPublic, status_code=201)
def create_employer(body: EmployerData, ctx: CtxDep) -> EmployerPublic:
    return EmployerPublic.model_validate(employers.create(ctx, body))


@router.get("", response_model=Page[EmployerPublic])
def list_employers(ctx: CtxDep, paging: PagingDep,
                   q: str | None = Query(None, max_length=100),
                   kommunkod: str | None = Query(None, pattern=r"^\d{4}$"),
                   sector: Sector | None = None) -> Page[EmployerPublic]:
    rows, total = employers.list_employers(ctx, paging.limit, paging.offset, q=q,
                                           kommunkod=kommunkod,
                                           sector=sector.value if sector else None)
    return Page(items=[EmployerPublic.model_validate(r) for r in rows], total=total)


@router.get("/{employer_id}", response_model=EmployerPublic)
def get_employer(employer_id: int, ctx: CtxDep) -> EmployerPublic:
    return EmployerPublic.model_validate(employers.get(ctx, employer_id))


@router.patch("/{employer_id}", response_model=EmployerPublic)
def update_employer(employer_id: int, body: EmployerPatch,  # type: ignore[valid-type]
                    ctx: CtxDep) -> EmployerPublic:
    return EmployerPublic.model_validate(
        employers.update(ctx, employer_id, body.model_dump(exclude_unset=True)))
