"""The placement board (placeringar): proposed, accepted, started and recently ended
placements, where the steps and outcomes are recorded. Employers see the placements on their
own slots as "Förslag till oss", with the participant's name and what the placement needs."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from matchning.domain.placement_flow import Action
from matchning.domain.vocab import AbortReason, PlacementOutcome, Role
from matchning.errors import Conflict, InvalidInput, NotFound
from matchning.services import board, participants, placements, slots
from matchning.services.context import Context
from matchning.web import forms
from matchning.web import session as web_session
from matchning.web.deps import Csrf, PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/placeringar", include_in_schema=False)

SLUGS = {"acceptera": Action.accept, "neka": Action.decline, "aterta": Action.withdraw,
         "starta": Action.start, "avsluta": Action.complete, "avbryt": Action.abort}
SLUG_OF = {a.value: s for s, a in SLUGS.items()}
ABORT_REASONS = [(r.value, r.value.capitalize()) for r in AbortReason]
OUTCOMES = [(o.value, o.value.capitalize()) for o in PlacementOutcome]
DONE = {Action.accept: "placeringen är accepterad", Action.decline: "förslaget är nekat",
        Action.withdraw: "förslaget är återtaget", Action.start: "placeringen har startat",
        Action.complete: "placeringen är avslutad", Action.abort: "placeringen är avbruten"}
PAGE = 50
RECENT = 15  # ended placements on the whole board; one participant's board shows them all
REASON_MAX = 1000
# Ids beyond a 32-bit key are refused as invalid input before they reach the database.
PlacementId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _int(value: Any) -> int | None:
    """A whole number from a form or query field (ASCII digits only), or None."""
    ok = isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value.strip())
    return int(value) if ok else None


def _page(request: Request, ctx: Context, deltagare: int | None,
          offsets: dict[str, int] | None = None, problem: dict[str, Any] | None = None,
          status: int = 200, plats: int | None = None) -> Response:
    p = ctx.principal
    slot = slots.get(ctx, plats).row if plats is not None else None  # 403/404 when not theirs
    # The unit's staff see whose board it is (404 for someone outside the unit); an employer
    # filters its own placements and is shown no profile.
    person = participants.get(ctx, deltagare) if deltagare is not None and p.is_unit_staff \
        else None
    found = board.board(ctx, participant_id=deltagare, slot_id=plats, offsets=offsets,
                        limit=PAGE, recent=PAGE if deltagare or plats else RECENT)
    employer = p.role is Role.employer
    title = ("Förslag till oss" if employer
             else f"Placeringar för {person.display_name}" if person else "Placeringar")
    if slot is not None:
        title += f" – {slot.title}"
    return render(request, "board/page.html", {
        "title": title, "board": found, "employer": employer, "person": person,
        "deltagare": deltagare, "problem": problem or {}, "slugs": SLUG_OF,
        "abort_reasons": ABORT_REASONS, "outcomes": OUTCOMES,
        "base": "/placeringar?" + "".join(f"{k}={v}&" for k, v in (("deltagare", deltagare),
                                                                      ("plats", plats)) if v),
    }, status=status)


@router.get("")
def board_page(request: Request, ctx: PageCtx,
               deltagare: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
               plats: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None
               ) -> Response:
    offsets = {c.key: n for c in board.COLUMNS
               if (n := _int(request.query_params.get(f"fran_{c.key}"))) is not None}
    return _page(request, ctx, deltagare, offsets, plats=plats)


def _back(deltagare: int | None, placement_id: int) -> RedirectResponse:
    query = f"?deltagare={deltagare}" if deltagare is not None else ""
    return RedirectResponse(f"/placeringar{query}#placering-{placement_id}", status_code=303)


@router.post("/{placement_id}/utfall", dependencies=[Csrf])
async def set_outcome(request: Request, placement_id: PlacementId, ctx: PageCtx) -> Response:
    form = await request.form()
    deltagare = _int(form.get("deltagare"))
    try:
        outcome = PlacementOutcome(forms.text(form, "outcome"))
    except ValueError:
        return _page(request, ctx, deltagare, status=422, problem={
            "placement_id": placement_id, "kind": "outcome",
            "message": "Välj ett utfall: arbete, studier, annan insats eller ingen."})
    try:
        view = placements.set_outcome(ctx, placement_id, outcome)
    except Conflict as exc:
        ctx.session.rollback()
        return _page(request, ctx, deltagare, status=409, problem={
            "placement_id": placement_id, "kind": "outcome", "message": exc.message})
    web_session.flash(request, f"Utfallet för {view.participant.display_name} på "
                               f"{view.slot.title} är sparat: {outcome.value}.")
    return _back(deltagare, placement_id)


@router.post("/{placement_id}/{slug}", dependencies=[Csrf])
async def act(request: Request, placement_id: PlacementId, slug: str, ctx: PageCtx) -> Response:
    action = SLUGS.get(slug)
    if action is None:
        raise NotFound("Det finns ingen sådan åtgärd för en placering.")
    form = await request.form()
    deltagare = _int(form.get("deltagare"))
    reason = forms.text(form, "reason")
    problem = {"placement_id": placement_id, "kind": action.value, "reason": reason or ""}
    if reason is not None and len(reason) > REASON_MAX:
        return _page(request, ctx, deltagare, status=422, problem={
            **problem, "message": f"Anledningen får vara högst {REASON_MAX} tecken."})
    try:
        view = placements.transition(ctx, placement_id, action, reason=reason)
    except InvalidInput as exc:
        ctx.session.rollback()
        return _page(request, ctx, deltagare, status=422,
                     problem={**problem, "message": exc.message})
    except Conflict as exc:  # not in that status any more, or no free place left
        ctx.session.rollback()
        return _page(request, ctx, deltagare, status=409, problem={
            **problem, "message": f"Placeringen ändrades inte: {exc.message}"})
    web_session.flash(request, f"{view.participant.display_name} på {view.slot.title}: "
                               f"{DONE[action]}.")
    return _back(deltagare, placement_id)
