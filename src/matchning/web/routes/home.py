"""The start page: each role lands where its work is."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse

from matchning.domain.vocab import Role
from matchning.web.deps import PagePrincipalDep

router = APIRouter(include_in_schema=False)

LANDING = {
    Role.consultant: "/deltagare?mina=1",
    Role.unit_admin: "/deltagare",
    Role.employer: "/mina-platser",
    Role.system_admin: "/admin/modeller",
}


@router.get("/")
def home(request: Request, principal: PagePrincipalDep) -> RedirectResponse:
    return RedirectResponse(LANDING[principal.role], status_code=303)
