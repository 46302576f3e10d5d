"""A participant's suggestions: the ranked open slots with their reasons, "Föreslå placering",
"Passar inte" with a reason, and the slots the rules removed, with why."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from matchning.errors import Conflict, InvalidInput, ModelUnavailable
from matchning.services import feedback, participants, placements, recommendations, reference
from matchning.services import slot_periods as periods_service
from matchning.services.context import Context
from matchning.services.recommendations import Filters
from matchning.web import forms
from matchning.web import session as web_session
from matchning.web.deps import Csrf, PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/deltagare", include_in_schema=False)

K_DEFAULT, K_MAX = 10, 100
MORE = (20, 50)  # "visa fler"
EXCLUDED_PAGE = 20
REASON_MAX = 1000
# Common reasons a consultant gives; free text adds to or replaces them.
NOT_SUITABLE = ("Fel yrkesinriktning", "För lång resväg", "Arbetstiderna passar inte",
                "Kraven är för höga just nu", "Deltagaren vill inte", "Arbetsplatsen passar "
                "inte deltagarens behov")
FIELDS = ("kommun", "occupation", "max_km", "k")
# Ids beyond a 32-bit key are refused as invalid input before they reach the database.
ParticipantId = Annotated[int, Path(ge=1, le=2_147_483_647)]
PREFIX = re.compile(r"^[0-9]{1,4}$")
NUMBER = re.compile(r"[0-9]{1,9}")


def number(text: str | None) -> int | None:
    """A whole number typed in a field or a query (ASCII digits only), or None."""
    return int(text) if text and NUMBER.fullmatch(text.strip()) else None


@dataclass
class Asked:
    """The page's GET fields as typed (to show again and to keep in links)."""

    kommun: str = ""
    occupation: str = ""
    max_km: str = ""
    k: int = K_DEFAULT

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Asked:
        def txt(name: str) -> str:
            v = values.get(name)
            return v.strip()[:100] if isinstance(v, str) else ""
        k = number(txt("k"))
        return cls(txt("kommun"), txt("occupation"), txt("max_km"),
                   K_DEFAULT if k is None else min(max(k, 1), K_MAX))

    def query(self, **override: Any) -> str:
        values = {**{"kommun": self.kommun, "occupation": self.occupation,
                     "max_km": self.max_km, "k": self.k if self.k != K_DEFAULT else ""},
                  **override}
        return urlencode({n: v for n, v in values.items() if v not in (None, "")})


def _filters(ctx: Context, asked: Asked) -> tuple[Filters, dict[str, str]]:
    """The service's filters, or the fields' errors."""
    errors: dict[str, str] = {}
    kommun = reference.kommunkod(ctx.ref, asked.kommun) if asked.kommun else None
    if asked.kommun and kommun is None:
        errors["kommun"] = "Välj en kommun i listan eller skriv kommunkoden (4 siffror)."
    occupation = None
    if asked.occupation:
        occupation = (asked.occupation if PREFIX.match(asked.occupation)
                      else reference.occupation_code(ctx.ref, asked.occupation))
        if occupation is None:
            errors["occupation"] = ("Välj ett yrke i listan eller skriv en SSYK-kod "
                                    "(1–4 siffror).")
    max_km = None
    if asked.max_km:
        try:
            max_km = float(asked.max_km.replace(",", "."))
        except ValueError:
            max_km = None
        if max_km is None or not 0 < max_km <= 500:
            errors["max_km"] = "Ange ett avstånd i kilometer, högst 500."
            max_km = None
    return Filters(kommun=kommun, occupation=occupation, max_km=max_km), errors


def _page(request: Request, ctx: Context, participant_id: int, asked: Asked,
          excluded_from: int = 0, problem: dict[str, Any] | None = None,
          status: int = 200) -> Response:
    filters, errors = _filters(ctx, asked)
    found = None
    try:
        if not errors:
            try:
                found = recommendations.recommend(ctx, participant_id, asked.k, filters)
            except InvalidInput as exc:
                errors = forms.field_errors(exc)
        hidden, hidden_total = recommendations.excluded(ctx, participant_id, EXCLUDED_PAGE,
                                                        excluded_from)
    except ModelUnavailable:
        person = participants.get(ctx, participant_id)
        return render(request, "suggestions/no_model.html", {"p": person}, status=503)
    person = participants.get(ctx, participant_id)
    items = found.items if found else []
    periods = periods_service.periods(ctx, [i["slot"]["id"] for i in items + hidden.items])
    return render(request, "suggestions/page.html", {
        "p": person, "found": found, "items": items, "hidden": hidden,
        "hidden_total": hidden_total, "hidden_from": excluded_from,
        "hidden_limit": EXCLUDED_PAGE, "periods": periods, "asked": asked, "errors": errors,
        "problem": problem or {}, "more": [n for n in MORE if n > asked.k],
        "reasons": NOT_SUITABLE, "base": f"/deltagare/{participant_id}/forslag",
    }, status=422 if errors and status == 200 else status)


@router.get("/{participant_id}/forslag")
def suggestions_page(request: Request, participant_id: ParticipantId, ctx: PageCtx,
                     uteslutna: str | None = None) -> Response:
    start = min(number(uteslutna) or 0, 10_000_000)
    return _page(request, ctx, participant_id, Asked.of(request.query_params), start)


def _slot_id(form: FormData) -> int | None:
    return number(forms.text(form, "slot_id"))


@router.post("/{participant_id}/forslag/foresla", dependencies=[Csrf])
async def propose(request: Request, participant_id: ParticipantId, ctx: PageCtx) -> Response:
    form = await request.form()
    asked, slot_id = Asked.of(form), _slot_id(form)
    if slot_id is None:
        return _page(request, ctx, participant_id, asked, status=422, problem={
            "message": "Välj en praktikplats bland förslagen."})
    try:
        view = placements.propose(ctx, participant_id, slot_id)
    except Conflict as exc:  # also NoCapacity: the place went while the page was open
        ctx.session.rollback()
        return _page(request, ctx, participant_id, asked, status=409, problem={
            "slot_id": slot_id, "kind": "propose",
            "message": f"Placeringen föreslogs inte: {exc.message}"})
    web_session.flash(request, f"{view.participant.display_name} är föreslagen till "
                               f"{view.slot.title}. Arbetsgivaren ser nu förslaget och kan "
                               f"acceptera eller neka.")
    return RedirectResponse(f"/placeringar?deltagare={participant_id}", status_code=303)


@router.post("/{participant_id}/forslag/passar-inte", dependencies=[Csrf])
async def not_suitable(request: Request, participant_id: ParticipantId, ctx: PageCtx) -> Response:
    form = await request.form()
    asked, slot_id = Asked.of(form), _slot_id(form)
    choice, own = forms.text(form, "choice"), forms.text(form, "own_reason")
    if choice is not None and choice not in NOT_SUITABLE:
        choice = None
    reason = ": ".join(r for r in (choice, own) if r)
    message = None
    if not reason:
        message = "Välj en anledning eller skriv en egen: varför passar platsen inte?"
    elif len(reason) > REASON_MAX:
        message = f"Anledningen får vara högst {REASON_MAX} tecken."
    if slot_id is None or message:
        return _page(request, ctx, participant_id, asked, status=422, problem={
            "slot_id": slot_id, "kind": "reject", "field": "reason",
            "message": message or "Välj en praktikplats bland förslagen.",
            "choice": choice or "", "own_reason": own or ""})
    feedback.reject_slot(ctx, participant_id, slot_id, reason)
    web_session.flash(request, "Platsen är markerad som \"passar inte\" och visas inte längre "
                               "bland förslagen.")
    query = asked.query()
    return RedirectResponse(f"/deltagare/{participant_id}/forslag" + (f"?{query}" if query
                                                                       else ""),
                            status_code=303)
