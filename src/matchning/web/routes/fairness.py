"""The fairness report page: unit admins see their unit, system admins any unit or all."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from matchning.errors import InvalidInput
from matchning.ml.fairness import DIMENSIONS
from matchning.services import fairness, units
from matchning.web import forms
from matchning.web.deps import PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/enhet/rattvisa", include_in_schema=False)
METRICS = {"feasible_share": "Andel med minst k möjliga förslag",
           "top_score": "Medelpoäng för bästa förslaget",
           "completion_rate": "Andel fullföljda placeringar",
           "work_studies_rate": "Andel till arbete eller studier"}
SOURCES = {fairness.LIVE: "en beräkning nu", fairness.STORED: "nattens förslagslistor",
           fairness.MIXED: "nattens förslagslistor och en beräkning nu"}
UNIT_CHOICES = 1000


def _int(raw: str, field: str, errors: dict[str, str]) -> int | None:
    if not raw:
        return None
    if raw.isdigit() and len(raw) <= 6:
        return int(raw)
    errors[field] = "Ange ett heltal."
    return None


def _float(raw: str, field: str, errors: dict[str, str]) -> float | None:
    if not raw:
        return None
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        errors[field] = "Ange ett tal, t.ex. 0,8."
        return None


@router.get("")
def fairness_page(request: Request, ctx: PageCtx) -> Response:
    q = request.query_params
    raw = {k: (q.get(k) or "").strip()[:12] for k in ("enhet", "k", "troskel")}
    errors: dict[str, str] = {}
    unit_id = _int(raw["enhet"], "enhet", errors) if ctx.principal.is_system_admin else None
    k = _int(raw["k"], "k", errors)
    k = fairness.DEFAULT_K if k is None else k
    threshold = _float(raw["troskel"], "troskel", errors)
    threshold = fairness.DEFAULT_THRESHOLD if threshold is None else threshold
    report = None
    if not errors:
        try:
            report = fairness.report(ctx, unit_id, k, threshold)
        except InvalidInput as exc:
            errors = {("troskel" if f == "threshold" else f): m
                      for f, m in forms.field_errors(exc).items()}
    unit_choices: list[tuple[int, str]] = []
    if ctx.principal.is_system_admin:
        rows, _ = units.list_units(ctx, UNIT_CHOICES, 0)
        unit_choices = sorted(((u.id, u.name) for u in rows), key=lambda kv: kv[1])
    return render(request, "admin/fairness.html", {
        "report": report, "v": raw, "errors": errors, "dimensions": DIMENSIONS,
        "metrics": METRICS, "unit_choices": unit_choices, "unit_id": unit_id,
        "k": k, "threshold": threshold, "sources": SOURCES,
    }, status=422 if errors else 200)
