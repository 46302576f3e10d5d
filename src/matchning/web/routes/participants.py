"""Consultant pages for participants: the caseload, one participant, the profile form, status."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from matchning.domain.records import ParticipantData
from matchning.domain.vocab import ExitOutcome, ParticipantStatus, TargetGroup
from matchning.errors import Conflict, InvalidInput
from matchning.services import access, allocation, erasure, feedback, participants, placements
from matchning.web import forms, participant_form
from matchning.web import session as web_session
from matchning.web.deps import Csrf, PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/deltagare", include_in_schema=False)
PAGE = 50
# Fields a consultant may empty on the edit form; the others keep their value when left blank.
CLEARABLE = {"external_id", "postcode", "education_level", "max_hours_per_week",
             "earliest_start", "adaptations_consent_date", "gender", "birth_year",
             "born_abroad", "kommunkod"}


def _choice(value: str | None, allowed: type) -> str | None:
    return value if value in {v.value for v in allowed} else None


@router.get("")
def list_page(request: Request, ctx: PageCtx, q: str | None = None, status: str | None = None,
              malgrupp: str | None = None, mina: bool = False, offset: int = 0) -> Response:
    q = (q or "").strip()[:100] or None
    status, malgrupp = _choice(status, ParticipantStatus), _choice(malgrupp, TargetGroup)
    rows, total = participants.list_participants(ctx, PAGE, max(offset, 0), mine=mina,
                                                 status=status, target_group=malgrupp, q=q)
    query = urlencode({k: v for k, v in {"q": q, "status": status, "malgrupp": malgrupp,
                                         "mina": "1" if mina else None}.items() if v})
    return render(request, "participants/list.html", {
        "rows": rows, "total": total, "offset": offset, "limit": PAGE, "q": q or "",
        "status": status, "malgrupp": malgrupp, "mine": mina, "base": f"/deltagare?{query}",
        "options": participant_form.OPTIONS,
        "title": "Mina deltagare" if mina else "Enhetens deltagare",
    })


def _form_page(request: Request, ctx: PageCtx, values: dict[str, Any], errors: dict[str, str],
               row=None, status: int = 200) -> Response:
    return render(request, "participants/form.html", {
        "v": values, "errors": errors, "row": row, "options": participant_form.OPTIONS,
        "wished_slots": participant_form.WISHED_SLOTS,
    }, status=status)


@router.get("/ny")
def new_form(request: Request, ctx: PageCtx) -> Response:
    access.require_unit_staff(ctx)  # the form registers into the user's own unit
    values = participant_form.initial(None, None, ctx.ref)
    values["max_commute_km"] = round(participants.default_commute_km(ctx, ctx.principal.unit_id))
    return _form_page(request, ctx, values, {})


def _service_errors(exc: InvalidInput | ValidationError) -> dict[str, str]:
    return {participant_form.field_of(k): v for k, v in forms.field_errors(exc).items()}


@router.post("/ny", dependencies=[Csrf])
async def create(request: Request, ctx: PageCtx) -> Response:
    access.require_unit_staff(ctx)
    form = await request.form()
    values, errors = participant_form.parse(form, ctx.ref)
    if not errors:
        try:
            data = ParticipantData.model_validate(forms.filled(values))
            row = participants.create(ctx, data)
        except (InvalidInput, ValidationError) as exc:
            ctx.session.rollback()
            errors = _service_errors(exc)
        else:
            web_session.flash(request, f"{row.display_name} är registrerad.")
            return RedirectResponse(f"/deltagare/{row.id}", status_code=303)
    return _form_page(request, ctx, participant_form.echo(form), errors, status=422)


def _detail_page(request: Request, ctx: PageCtx, participant_id: int,
                 error: str | None = None, status: int = 200,
                 erase_error: str | None = None) -> Response:
    row = participants.get(ctx, participant_id)
    views, _ = placements.list_placements(ctx, 200, 0, participant_id=participant_id)
    rejected, _ = feedback.list_feedback(ctx, participant_id, 100, 0)
    return render(request, "participants/detail.html", {
        "plan_pairs": allocation.pairs_of_participant(ctx, participant_id),
        "p": row, "placements": views, "rejected": rejected, "status_error": error,
        "erase_error": erase_error,
        "statuses": participant_form.STATUSES,
        "outcomes": [(o.value, o.value.capitalize()) for o in ExitOutcome],
    }, status=status)


@router.get("/{participant_id}")
def detail(request: Request, participant_id: int, ctx: PageCtx) -> Response:
    return _detail_page(request, ctx, participant_id)


@router.get("/{participant_id}/redigera")
def edit_form(request: Request, participant_id: int, ctx: PageCtx) -> Response:
    row = participants.get(ctx, participant_id)
    mon = participants.monitoring(ctx, participant_id)
    return _form_page(request, ctx, participant_form.initial(row, mon, ctx.ref), {}, row=row)


@router.post("/{participant_id}/redigera", dependencies=[Csrf])
async def edit(request: Request, participant_id: int, ctx: PageCtx) -> Response:
    row = participants.get(ctx, participant_id)
    form = await request.form()
    values, errors = participant_form.parse(form, ctx.ref)
    values.pop("personnummer", None)  # set once, at registration
    patch = {k: v for k, v in values.items() if v is not None or k in CLEARABLE}
    if not errors:
        try:
            participants.update(ctx, participant_id, patch)
        except (InvalidInput, ValidationError) as exc:
            ctx.session.rollback()
            errors = _service_errors(exc)
        except Conflict as exc:
            ctx.session.rollback()
            errors = {"": exc.message}
        else:
            web_session.flash(request, "Profilen är sparad.")
            return RedirectResponse(f"/deltagare/{participant_id}", status_code=303)
    return _form_page(request, ctx, participant_form.echo(form), errors, row=row, status=422)


@router.post("/{participant_id}/status", dependencies=[Csrf])
async def set_status(request: Request, participant_id: int, ctx: PageCtx) -> Response:
    form = await request.form()
    patch: dict[str, Any] = {"status": forms.text(form, "status")}
    if patch["status"] == ParticipantStatus.ended.value:
        patch["exit_outcome"] = forms.text(form, "exit_outcome")
        patch["exit_date"] = forms.text(form, "exit_date")
    else:
        patch["exit_outcome"] = patch["exit_date"] = None
    try:
        participants.update(ctx, participant_id, patch)
    except (InvalidInput, ValidationError, Conflict) as exc:
        message = exc.message if isinstance(exc, Conflict) else \
            "; ".join(forms.field_errors(exc).values())
        ctx.session.rollback()  # nothing of the refused change may be committed
        return _detail_page(request, ctx, participant_id, f"Statusen ändrades inte: {message}",
                            409 if isinstance(exc, Conflict) else 422)
    web_session.flash(request, "Statusen är ändrad.")
    return RedirectResponse(f"/deltagare/{participant_id}", status_code=303)


@router.post("/{participant_id}/radera", dependencies=[Csrf])
def erase(request: Request, participant_id: int, ctx: PageCtx) -> Response:
    """Erasure on the person's request (GDPR art. 17): the profile goes, the placement history
    stays only without any link to the person."""
    try:
        erasure.erase(ctx, participant_id)
    except Conflict as exc:
        ctx.session.rollback()
        return _detail_page(request, ctx, participant_id, status=409,
                            erase_error=f"Inget raderades: {exc.message}")
    web_session.flash(request, "Deltagarens uppgifter är raderade. Placeringshistoriken finns "
                               "kvar utan koppling till personen.")
    return RedirectResponse("/deltagare", status_code=303)
