"""The audit log for unit admins (their unit's rows) and system admins (all rows)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from matchning.errors import InvalidInput
from matchning.services import audit
from matchning.web import forms
from matchning.web.deps import PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/enhet/logg", include_in_schema=False)
PAGE = 50
ACTIONS = {
    "participant.read": "Läste profil", "participant.list": "Såg i lista",
    "participant.create": "Registrerade", "participant.update": "Ändrade profil",
    "participant.erase": "Raderade", "participant.export": "Exporterade",
    "recommendations.read": "Hämtade förslag",
    "recommendations.excluded_read": "Såg uteslutna platser",
    "candidates.read": "Hämtade kandidater", "feedback.not_suitable": "Markerade passar inte",
    "audit.read": "Läste loggen", "audit.purge": "Rensade loggen",
    "fairness.read": "Läste rättviserapporten",
    "model.train": "Tränade modell", "model.retrain": "Omträning",
    "model.promote": "Aktiverade modell", "model.rollback": "Återgick till modell",
    "placement.propose": "Föreslog placering", "placement.accept": "Accepterade placering",
    "placement.decline": "Nekade placering", "placement.withdraw": "Återtog placering",
    "placement.start": "Startade placering", "placement.complete": "Avslutade placering",
    "placement.abort": "Avbröt placering", "placement.outcome": "Registrerade utfall",
    "placement.read": "Läste placering", "placement.list": "Såg placering i lista",
    "report.read": "Läste resultatrapport", "report.export": "Exporterade resultatrapport",
    "gaps.read": "Läste platsluckor",
}


def _int(value: str | None, field: str, errors: dict[str, str]) -> int | None:
    if not value:
        return None
    if value.isdigit() and len(value) <= 12:
        return int(value)
    errors[field] = "Ange ett id (bara siffror)."
    return None


def _day(value: str | None, field: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = "Ange ett datum som ÅÅÅÅ-MM-DD."
        return None


@router.get("")
def audit_page(request: Request, ctx: PageCtx, offset: int = 0) -> Response:
    q = request.query_params
    raw = {k: (q.get(k) or "").strip()[:20] for k in ("deltagare", "anvandare", "fran", "till")}
    errors: dict[str, str] = {}
    f = audit.AuditFilter(participant_id=_int(raw["deltagare"], "deltagare", errors),
                          user_id=_int(raw["anvandare"], "anvandare", errors),
                          since=_day(raw["fran"], "fran", errors),
                          until=_day(raw["till"], "till", errors))
    rows, total = [], 0
    if not errors:
        try:
            rows, total = audit.query(ctx, f, PAGE, max(offset, 0))
        except InvalidInput as exc:
            errors = {("fran" if k == "from" else k): v
                      for k, v in forms.field_errors(exc).items()}
    query = urlencode({k: v for k, v in raw.items() if v})
    return render(request, "admin/audit.html", {
        "rows": rows, "total": total, "offset": offset, "limit": PAGE, "v": raw,
        "errors": errors, "actions": ACTIONS, "base": f"/enhet/logg?{query}",
    }, status=422 if errors else 200)
