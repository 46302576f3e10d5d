"""Slot pages: every slot with its free places, one slot (with the waiting participants who fit
it best), the form to post and edit a slot, pausing, closing and reopening."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from matchning.domain.records import SlotData
from matchning.domain.vocab import Role, SlotStatus
from matchning.errors import Conflict, InvalidInput, ModelUnavailable
from matchning.services import employers, placements, recommendations, reference, slots
from matchning.services.context import Context
from matchning.storage.tables import EmployerRow, SlotRow
from matchning.web import forms, slot_form
from matchning.web import session as web_session
from matchning.web.deps import Csrf, PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/platser", include_in_schema=False)
PAGE = 50
CANDIDATES = 10
MAX_EMPLOYERS = 2000  # the employer select; a unit works with a few hundred at most
STATUS_DONE = {"open": "Platsen är öppen igen och kan få nya förslag.",
               "paused": "Platsen är pausad. Den får inga nya förslag förrän den öppnas igen.",
               "closed": "Platsen är stängd."}


# --- the list ---------------------------------------------------------------------------------

def _filter_codes(ctx: Context, kommun: str | None, yrke: str | None
                  ) -> tuple[str | None, str | None, dict[str, str]]:
    """(kommunkod, occupation code or prefix, errors) from the filter fields' text."""
    errors: dict[str, str] = {}
    kommunkod = reference.kommunkod(ctx.ref, kommun) if kommun else None
    if kommun and kommunkod is None:
        errors["kommun"] = slot_form.KOMMUN_HELP
    occupation = None
    if yrke:
        occupation = yrke if yrke.isdigit() and len(yrke) <= 4 else \
            reference.occupation_code(ctx.ref, yrke)
        if occupation is None:
            errors["yrke"] = slot_form.OCCUPATION_HELP
    return kommunkod, occupation, errors


@router.get("")
def list_page(request: Request, ctx: PageCtx, q: str | None = None, kommun: str | None = None,
              yrke: str | None = None, status: str | None = None, lediga: bool = False,
              offset: int = 0) -> Response:
    if ctx.principal.role is Role.employer:
        return RedirectResponse("/mina-platser", status_code=303)
    q, kommun, yrke = ((v or "").strip()[:100] or None for v in (q, kommun, yrke))
    if status not in {s.value for s in SlotStatus} | {"alla"}:
        status = SlotStatus.open.value
    offset = max(offset, 0)
    kommunkod, occupation, errors = _filter_codes(ctx, kommun, yrke)
    views: list[slots.SlotView] = []
    total = 0
    if not errors:
        views, total = slots.list_slots(
            ctx, PAGE, offset, status=None if status == "alla" else status,
            kommunkod=kommunkod, occupation=occupation, q=q, with_free_places=lediga)
    query = urlencode({k: v for k, v in {"q": q, "kommun": kommun, "yrke": yrke,
                                         "status": status, "lediga": "1" if lediga else None
                                         }.items() if v})
    return render(request, "slots/list.html", {
        "views": views, "total": total, "offset": offset, "limit": PAGE, "errors": errors,
        "f": {"q": q or "", "kommun": kommun or "", "yrke": yrke or "", "status": status,
              "lediga": lediga},
        "base": f"/platser?{query}", "statuses": [*slot_form.STATUSES, ("alla", "Alla")],
        "may_post": ctx.principal.role is not Role.employer,
    }, status=422 if errors else 200)


# --- the form ---------------------------------------------------------------------------------

def _employer_rows(ctx: Context) -> dict[int, EmployerRow]:
    """The employers a slot may be posted for: one's own, or (staff) all of them."""
    rows, _ = employers.list_employers(ctx, MAX_EMPLOYERS, 0)
    return {e.id: e for e in rows}


def _form_page(request: Request, ctx: Context, values: dict[str, Any], errors: dict[str, str],
               *, row: SlotRow | None = None, employer: EmployerRow | None = None,
               choices: dict[int, EmployerRow] | None = None, status: int = 200) -> Response:
    return render(request, "slots/form.html", {
        "v": values, "errors": slot_form.in_form_order(errors), "row": row, "employer": employer,
        "employer_choices": slot_form.employer_choices(choices.values(), ctx.ref)
        if choices is not None else None,
        "options": slot_form.OPTIONS,
    }, status=status)


def _service_errors(exc: InvalidInput | ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for field, message in forms.field_errors(exc).items():
        out.setdefault(slot_form.field_of(field), message)
    return out


@router.get("/ny")
def new_form(request: Request, ctx: PageCtx, arbetsgivare: int | None = None) -> Response:
    p = ctx.principal
    if p.role is Role.employer:
        own = employers.get(ctx, p.employer_id or 0)
        values = slot_form.initial(None, ctx.ref, kommunkod=own.kommunkod, employer_id=own.id)
        return _form_page(request, ctx, values, {}, employer=own)
    choices = _employer_rows(ctx)
    chosen = choices.get(arbetsgivare or 0)
    values = slot_form.initial(None, ctx.ref, employer_id=chosen.id if chosen else None,
                               kommunkod=chosen.kommunkod if chosen else None)
    return _form_page(request, ctx, values, {}, choices=choices)


def _chosen_employer(ctx: Context, form: FormData
                     ) -> tuple[EmployerRow | None, dict[int, EmployerRow] | None,
                                dict[str, str]]:
    """(the slot's employer, the select's employers for staff, errors)."""
    p = ctx.principal
    if p.role is Role.employer:
        return employers.get(ctx, p.employer_id or 0), None, {}
    choices = _employer_rows(ctx)
    employer_id, errors = slot_form.parse_employer(form)
    employer = choices.get(employer_id or 0)
    if employer_id is not None and employer is None:
        errors = {"employer_id": "Arbetsgivaren finns inte. Välj en i listan."}
    return employer, choices, errors


@router.post("/ny", dependencies=[Csrf])
async def create(request: Request, ctx: PageCtx) -> Response:
    form = await request.form()
    employer, choices, errors = _chosen_employer(ctx, form)
    values, form_errors = slot_form.parse(form, ctx.ref, employer.kommunkod if employer else None)
    errors = {**form_errors, **errors}
    if errors:
        errors = {**slot_form.record_errors(values, employer.id if employer else None), **errors}
    if not errors and employer is not None:
        try:
            data = SlotData.model_validate(forms.filled({**values, "employer_id": employer.id}))
            row = slots.create(ctx, data)
        except (InvalidInput, ValidationError) as exc:
            ctx.session.rollback()
            errors = _service_errors(exc)
        else:
            web_session.flash(request, f"Praktikplatsen {row.title} är sparad och öppen för "
                                       "förslag.")
            return RedirectResponse(f"/platser/{row.id}", status_code=303)
    return _form_page(request, ctx, slot_form.echo(form), errors,
                      employer=employer if choices is None else None, choices=choices,
                      status=422)


@router.get("/{slot_id}/redigera")
def edit_form(request: Request, slot_id: int, ctx: PageCtx) -> Response:
    row = slots.get(ctx, slot_id).row
    return _form_page(request, ctx, slot_form.initial(row, ctx.ref), {}, row=row,
                      employer=employers.get(ctx, row.employer_id))


@router.post("/{slot_id}/redigera", dependencies=[Csrf])
async def edit(request: Request, slot_id: int, ctx: PageCtx) -> Response:
    row = slots.get(ctx, slot_id).row
    employer = employers.get(ctx, row.employer_id)
    form = await request.form()
    values, errors = slot_form.parse(form, ctx.ref, employer.kommunkod)
    if errors:
        errors = {**slot_form.record_errors(values, employer.id), **errors}
    status = 422
    if not errors:
        try:
            slots.update(ctx, slot_id, slot_form.edit_patch(values, row))
        except (InvalidInput, ValidationError) as exc:
            ctx.session.rollback()
            errors = _service_errors(exc)
        except Conflict as exc:  # fewer places than are already taken
            ctx.session.rollback()
            field = next((str(d.get("field")) for d in exc.details if d.get("field")), "")
            errors, status = {slot_form.field_of(field): exc.message}, 409
        else:
            web_session.flash(request, "Praktikplatsen är sparad.")
            return RedirectResponse(f"/platser/{slot_id}", status_code=303)
    return _form_page(request, ctx, slot_form.echo(form), errors, row=row, employer=employer,
                      status=status)


# --- one slot ---------------------------------------------------------------------------------

def _candidates(ctx: Context, view: slots.SlotView) -> tuple[Any, str | None]:
    """(the waiting participants who fit best, or a note saying why none are shown)."""
    if view.row.status != SlotStatus.open.value:
        return None, "Platsen är inte öppen. Öppna den igen för att se deltagare som passar."
    if view.remaining_places == 0:
        return None, "Alla platser är tagna. När en plats blir ledig visas deltagare som passar."
    try:
        return recommendations.candidates(ctx, view.row.id, k=CANDIDATES), None
    except ModelUnavailable as exc:
        return None, f"Förslag på deltagare kan inte visas just nu. {exc.message}"


def _detail_page(request: Request, ctx: Context, slot_id: int, error: str | None = None,
                 status: int = 200) -> Response:
    view = slots.get(ctx, slot_id)
    p = ctx.principal
    found, note = _candidates(ctx, view) if p.is_unit_staff else (None, None)
    shown, shown_total = placements.list_placements(ctx, 200, 0, slot_id=slot_id)
    return render(request, "slots/detail.html", {
        "s": view, "row": view.row, "candidates": found, "candidates_note": note,
        "placements": shown, "placements_total": shown_total, "error": error,
        "is_employer": p.role is Role.employer, "is_staff": p.is_unit_staff,
        "options": slot_form.OPTIONS,
    }, status=status)


@router.get("/{slot_id}")
def detail(request: Request, slot_id: int, ctx: PageCtx) -> Response:
    return _detail_page(request, ctx, slot_id)


def _back(form: FormData, slot_id: int) -> str:
    # Only the two pages that hold these buttons: never an address from outside.
    return "/mina-platser" if forms.text(form, "tillbaka") == "/mina-platser" \
        else f"/platser/{slot_id}"


@router.post("/{slot_id}/status", dependencies=[Csrf])
async def set_status(request: Request, slot_id: int, ctx: PageCtx) -> Response:
    form = await request.form()
    new = forms.text(form, "status")
    try:
        slots.update(ctx, slot_id, {"status": new})
    except (InvalidInput, ValidationError, Conflict) as exc:
        ctx.session.rollback()  # nothing of the refused change may be committed
        message = exc.message if isinstance(exc, Conflict) else \
            "; ".join(forms.field_errors(exc).values())
        return _detail_page(request, ctx, slot_id, f"Statusen ändrades inte: {message}",
                            409 if isinstance(exc, Conflict) else 422)
    web_session.flash(request, STATUS_DONE.get(new or "", "Statusen är ändrad."))
    return RedirectResponse(_back(form, slot_id), status_code=303)


@router.post("/{slot_id}/foresla", dependencies=[Csrf])
async def propose(request: Request, slot_id: int, ctx: PageCtx) -> Response:
    form = await request.form()
    raw = forms.text(form, "participant_id") or ""
    if not raw.isdigit():
        return _detail_page(request, ctx, slot_id, "Välj en deltagare att föreslå.", 422)
    try:
        made = placements.propose(ctx, int(raw), slot_id, forms.text(form, "note"))
    except (InvalidInput, Conflict) as exc:
        ctx.session.rollback()
        return _detail_page(request, ctx, slot_id, f"Förslaget gjordes inte: {exc.message}",
                            409 if isinstance(exc, Conflict) else 422)
    web_session.flash(request, f"{made.participant.display_name} är föreslagen till "
                               f"{made.slot.title}. Arbetsgivaren svarar på förslaget.")
    return RedirectResponse(f"/platser/{slot_id}", status_code=303)
