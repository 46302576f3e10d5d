"""Read-only reference data with text search, for autocompletion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from matchning.api.deps import PrincipalDep
from matchning.api.responses import BY_ID
from matchning.errors import NotFound
from matchning.reference import get_reference
from matchning.services import reference

router = APIRouter(prefix="/reference", tags=["referensdata"])
Q = Annotated[str, Query(min_length=1, max_length=100, description="Söktext")]
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("/occupations")
def search_occupations(_: PrincipalDep, q: Q, limit: Limit = 20) -> list[dict[str, Any]]:
    """Job titles (JobTech yrkesbenämningar) and SSYK unit groups matching `q`."""
    return reference.occupations(get_reference(), q, limit)


@router.get("/occupations/{code}", responses=BY_ID)
def get_occupation(_: PrincipalDep, code: str) -> dict[str, Any]:
    found = reference.occupation(get_reference(), code)
    if found is None:
        raise NotFound(f"Yrkeskoden {code!r} finns inte i SSYK 2012.")
    return found


@router.get("/municipalities")
def search_municipalities(_: PrincipalDep, q: Q, limit: Limit = 20) -> list[dict[str, Any]]:
    return reference.municipalities(get_reference(), q, limit)


@router.get("/postcodes/{postcode}", responses=BY_ID)
def lookup_postcode(_: PrincipalDep, postcode: str) -> dict[str, Any]:
    found = reference.postcode(get_reference(), postcode)
    if found is None:
        raise NotFound(f"Postnumret {postcode!r} finns inte i referensdata.")
    return found


@router.get("/skills")
def search_skills(_: PrincipalDep, q: Q, limit: Limit = 20) -> list[str]:
    return reference.skills(get_reference(), q, limit)
