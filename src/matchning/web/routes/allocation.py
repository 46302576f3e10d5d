"""The unit's allocation plan for consultants: make a plan, and accept or override each pair
(an override needs a reason). The plan is advice; accepting proposes the placement."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from matchning.errors import Conflict, Forbidden, InvalidInput, ModelUnavailable
from matchning.services import allocation
from matchning.services.context import Context
from matchning.web import forms
from matchning.web import session as web_session
from matchning.web.deps import Csrf, PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/enhet/fordelning", include_in_schema=False)
BASE = "/enhet/fordelning"
METHODS = (("exact", "Exakt (flest förväntade fullföljda placeringar)"),
           ("ot", "Mjuk (optimal transport)"))


def _unit(ctx: Context) -> int:
    unit_id = ctx.principal.unit_id
    if not ctx.principal.is_unit_staff or unit_id is None:
        raise Forbidden("Bara enhetens konsulenter och enhetsadministratörer ser "
                        "fördelningsplanen.")
    return unit_id


def _page(request: Request, ctx: Context, *, problem: dict[str, Any] | None = None,
          values: dict[str, str] | None = None, status: int = 200) -> Response:
    view = allocation.latest_plan(ctx, _unit(ctx))
    return render(request, "allocation/page.html", {
        "view": view, "summary": allocation.summary_rows(view) if view else None,
        "methods": METHODS, "values": values or {"method": "exact", "floor": ""},
        "problem": problem or {}, "base": BASE, "status_sv": allocation.STATUS_SV,
    }, status=status)


@router.get("")
def plan_page(request: Request, ctx: PageCtx) -> Response:
    return _page(request, ctx)


@router.post("", dependencies=[Csrf])
async def make_plan(request: Request, ctx: PageCtx) -> Response:
    unit_id = _unit(ctx)
    form = await request.form()
    method = forms.text(form, "method") or "exact"
    floor_text = (forms.text(form, "floor") or "").replace(",", ".")
    values = {"method": method, "floor": floor_text}
    floor = None
    if floor_text:
        try:
            floor = float(floor_text)
        except ValueError:
            return _page(request, ctx, values=values, status=422, problem={
                "field": "floor", "message": "Skriv golvet som ett tal mellan 0 och 1, "
                                             "till exempel 0,8."})
    try:
        view = allocation.create_plan(ctx, unit_id, allocation.PlanOptions(
            method=method, fairness_floor=floor))
    except ModelUnavailable:
        return render(request, "allocation/no_model.html", {}, status=503)
    except InvalidInput as exc:
        ctx.session.rollback()
        detail = "; ".join(d.get("message", "") for d in exc.details)
        return _page(request, ctx, values=values, status=422, problem={
            "field": "floor" if "fairness" in str(exc.details) or "Golvet" in exc.message
            else "method",
            "message": exc.message + (f" {detail}" if detail else "")})
    web_session.flash(request, f"En ny plan är gjord: {view.plan.inputs.get('placed', 0)} "
                               "deltagare har fått ett förslag.")
    return RedirectResponse(BASE, status_code=303)


@router.post("/{plan_id}/{participant_id}/godta", dependencies=[Csrf])
async def accept(request: Request, plan_id: int, participant_id: int, ctx: PageCtx
                 ) -> Response:
    try:
        pair = allocation.accept(ctx, plan_id, participant_id)
    except Conflict as exc:  # also NoCapacity: the place went since the plan was made
        ctx.session.rollback()
        return _page(request, ctx, status=409, problem={
            "participant_id": participant_id, "message": f"Förslaget följdes inte: "
                                                         f"{exc.message}"})
    web_session.flash(request, f"{pair.display_name} är föreslagen till {pair.slot_title}.")
    return RedirectResponse(BASE, status_code=303)


@router.post("/{plan_id}/{participant_id}/asidosatt", dependencies=[Csrf])
async def override(request: Request, plan_id: int, participant_id: int, ctx: PageCtx
                   ) -> Response:
    form = await request.form()
    try:
        pair = allocation.override(ctx, plan_id, participant_id, forms.text(form, "reason"))
    except InvalidInput as exc:
        ctx.session.rollback()
        return _page(request, ctx, status=422, problem={
            "participant_id": participant_id, "field": "reason", "message": exc.message})
    except Conflict as exc:
        ctx.session.rollback()
        return _page(request, ctx, status=409, problem={
            "participant_id": participant_id, "message": exc.message})
    web_session.flash(request, f"Förslaget för {pair.display_name} följs inte; anledningen "
                               "är sparad.")
    return RedirectResponse(BASE, status_code=303)
