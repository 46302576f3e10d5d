"""The audit log for unit admins (their unit's rows) and system admins (all rows)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query

from matchning.api.deps import CtxDep, PagingDep
from matchning.api.schemas import AuditPublic, Page
from matchning.domain.records import Id
from matchning.services import audit
from matchning.services.audit import AuditFilter

router = APIRouter(prefix="/audit", tags=["granskning"])


@router.get("", response_model=Page[AuditPublic])
def list_audit(ctx: CtxDep, paging: PagingDep,
               participant_id: Id | None = Query(None, description="Rader om deltagaren"),
               user_id: Id | None = Query(None, description="Rader av användaren"),
               from_: date | None = Query(None, alias="from",
                                          description="Första dagen (UTC), ÅÅÅÅ-MM-DD"),
               to: date | None = Query(None, description="Sista dagen (UTC), ÅÅÅÅ-MM-DD"),
               ) -> Page[AuditPublic]:
    """Who read or changed what, newest first."""
    rows, total = audit.query(ctx, AuditFilter(participant_id, user_id, from_, to),
                              paging.limit, paging.offset)
    return Page(items=[AuditPublic.model_validate(r) for r in rows], total=total)
