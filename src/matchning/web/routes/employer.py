"""The employer's own slots ("Mina platser")."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from matchning.domain.vocab import Role, SlotStatus
from matchning.errors import Forbidden
from matchning.services import employers, slot_proposals, slots
from matchning.web import slot_form
from matchning.web.deps import PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/mina-platser", include_in_schema=False)
PAGE = 50


@router.get("")
def my_slots(request: Request, ctx: PageCtx, status: str | None = None,
             offset: int = 0) -> Response:
    p = ctx.principal
    if p.role is not Role.employer or p.employer_id is None:
        raise Forbidden("Sidan Mina platser är för arbetsgivare. Alla praktikplatser finns "
                        "under Praktikplatser.")
    if status not in {s.value for s in SlotStatus}:
        status = None
    offset = max(offset, 0)
    views, total = slots.list_slots(ctx, PAGE, offset, status=status)
    waiting = slot_proposals.waiting(ctx, [v.row.id for v in views])
    return render(request, "slots/mine.html", {
        "employer": employers.get(ctx, p.employer_id), "views": views, "total": total,
        "waiting": waiting, "waiting_total": sum(waiting.values()), "status": status,
        "statuses": slot_form.STATUSES, "offset": offset, "limit": PAGE,
        "base": "/mina-platser?" + urlencode({"status": status} if status else {}),
    })
