"""The unit's results page (with its plots and CSV export) and the slot-gap page, for the
unit's consultants and admins; system admins choose a unit."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from matchning.domain.results import OUTCOMES
from matchning.domain.vocab import Role
from matchning.errors import Forbidden, InvalidInput
from matchning.services import gaps, results, results_export, units
from matchning.services.context import Context
from matchning.web import forms, result_plots, result_views
from matchning.web.deps import PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/enhet", include_in_schema=False)
FIELDS = {"from": "fran", "to": "till", "top": "antal"}  # service field -> form field
UNIT_CHOICES = 1000


def _unit_id(ctx: Context, enhet: str | None) -> int | None:
    """The unit asked for, or the principal's own; None for a system admin who has not
    chosen one yet. Employers have no unit reports."""
    if ctx.principal.role is Role.employer:
        raise Forbidden("Resultat och platsluckor är till för enhetens personal.")
    if enhet:
        if not enhet.isdigit() or len(enhet) > 12:
            raise InvalidInput("Välj en enhet i listan.",
                               details=[{"field": "enhet", "message": "Välj en enhet."}])
        return int(enhet)
    return ctx.principal.unit_id


def _choices(ctx: Context) -> list[tuple[int, str]]:
    if not ctx.principal.is_system_admin:
        return []
    rows, _ = units.list_units(ctx, UNIT_CHOICES, 0)
    return [(u.id, u.name) for u in rows]


def _errors(exc: InvalidInput) -> dict[str, str]:
    return {FIELDS.get(k, k): v for k, v in forms.field_errors(exc).items()}


@router.get("/resultat")
def results_page(request: Request, ctx: PageCtx, enhet: str | None = None,
                 fran: str | None = None, till: str | None = None) -> Response:
    v = {"enhet": (enhet or "")[:12], "fran": (fran or "")[:20], "till": (till or "")[:20]}
    unit_id = _unit_id(ctx, v["enhet"])
    errors: dict[str, str] = {}
    ur = None
    if unit_id is not None:
        try:
            ur = results.unit_report(ctx, unit_id, results.period_of(ctx, v["fran"], v["till"]))
        except InvalidInput as exc:
            errors = _errors(exc)
    data: dict = {"v": v, "errors": errors, "ur": ur, "choices": _choices(ctx)}
    if ur is not None:
        rep = ur.report
        v.update(enhet=str(ur.unit.id), fran=rep.period.start.isoformat(),
                 till=rep.period.end.isoformat())
        data.update(
            query=urlencode({"enhet": ur.unit.id, "fran": v["fran"], "till": v["till"]}),
            periods=result_views.periods(ur), totals=result_views.total_rows(ur),
            breakdowns=result_views.breakdowns(ur), columns=result_views.columns(),
            quarters=rep.quarters, outcomes=OUTCOMES, funnel=result_views.funnel_steps(ur),
            waits=result_views.wait_groups(ur), exits_alt=result_views.exits_alt(ur),
            funnel_alt=result_views.funnel_alt(ur), wait_alt=result_views.wait_alt(ur),
            small=results_export.SMALL_GROUP, num=results_export.cell)
    return render(request, "results/page.html", data, status=422 if errors else 200)


def _plot_report(ctx: Context, enhet: str | None, fran: str | None, till: str | None
                 ) -> results.UnitReport:
    unit_id = _unit_id(ctx, enhet)
    if unit_id is None:
        raise InvalidInput("Välj en enhet.", details=[{"field": "enhet",
                                                       "message": "Välj en enhet."}])
    # Not audited: the page that shows the plot was.
    return results.unit_report(ctx, unit_id, results.period_of(ctx, fran, till), action=None)


def _png(data: bytes) -> Response:
    return Response(data, media_type="image/png")


@router.get("/resultat/avslut.png")
def exits_png(ctx: PageCtx, enhet: str | None = None, fran: str | None = None,
              till: str | None = None) -> Response:
    ur = _plot_report(ctx, enhet, fran, till)
    return _png(result_plots.exits_chart(ur.report.quarters, OUTCOMES))


@router.get("/resultat/placeringar.png")
def funnel_png(ctx: PageCtx, enhet: str | None = None, fran: str | None = None,
               till: str | None = None) -> Response:
    ur = _plot_report(ctx, enhet, fran, till)
    return _png(result_plots.funnel_chart(result_views.funnel_steps(ur),
                                          result_views.periods(ur)))


@router.get("/resultat/vantetid.png")
def wait_png(ctx: PageCtx, enhet: str | None = None, fran: str | None = None,
             till: str | None = None) -> Response:
    ur = _plot_report(ctx, enhet, fran, till)
    return _png(result_plots.wait_chart(result_views.wait_groups(ur), result_views.periods(ur)))


@router.get("/resultat/export.csv")
def results_csv(ctx: PageCtx, enhet: str | None = None, fran: str | None = None,
                till: str | None = None) -> Response:
    """The CSV export: groups of fewer than 5 people blanked."""
    unit_id = _unit_id(ctx, enhet)
    if unit_id is None:
        raise InvalidInput("Välj en enhet.", details=[{"field": "enhet",
                                                       "message": "Välj en enhet."}])
    period = results.period_of(ctx, fran, till)
    ur = results.unit_report(ctx, unit_id, period, action=results.EXPORT, fmt="csv")
    name = f"resultat-{ur.unit.id}-{period.start}-{period.end}.csv"
    # A BOM, so that Excel reads the å, ä and ö right.
    return Response("\ufeff" + results_export.to_csv(ur), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/platsluckor")
def gaps_page(request: Request, ctx: PageCtx, enhet: str | None = None,
              antal: str | None = None) -> Response:
    v = {"enhet": (enhet or "")[:12], "antal": (antal or "")[:4]}
    unit_id = _unit_id(ctx, v["enhet"])
    errors: dict[str, str] = {}
    report = None
    top = gaps.DEFAULT_TOP
    if v["antal"]:
        top = int(v["antal"]) if v["antal"].isdigit() else 0
    if unit_id is not None:
        try:
            report = gaps.analyse(ctx, unit_id, top)
        except InvalidInput as exc:
            errors = _errors(exc)
    return render(request, "results/gaps.html", {
        "v": v, "errors": errors, "report": report, "choices": _choices(ctx),
        "data": gaps.as_json(ctx, report) if report is not None else None,
    }, status=422 if errors else 200)
