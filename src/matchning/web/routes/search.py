"""Autocompletion for the forms: occupations by job title, municipalities by name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from matchning.reference import get_reference
from matchning.services import reference
from matchning.web.deps import PagePrincipalDep

router = APIRouter(prefix="/sok", include_in_schema=False)
Q = Annotated[str, Query(min_length=1, max_length=100)]


@router.get("/yrken")
def occupations(_: PagePrincipalDep, q: Q) -> list[dict[str, str]]:
    return [{"value": v} for v in reference.occupation_choice(get_reference(), q)]


@router.get("/kommuner")
def municipalities(_: PagePrincipalDep, q: Q) -> list[dict[str, str]]:
    return [{"value": v} for v in reference.kommun_choice(get_reference(), q)]
