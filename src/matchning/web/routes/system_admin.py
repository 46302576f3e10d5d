"""System admin pages: model versions with their metrics and a plot, promote and rollback,
starting a retrain, one run's progress and the run history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from matchning.api.deps import SettingsDep
from matchning.domain.principal import Principal
from matchning.errors import Conflict, RetrainRunning, Unauthenticated
from matchning.services import model_admin, users
from matchning.storage.db import unit_of_work
from matchning.web import model_views, plots
from matchning.web import session as web_session
from matchning.web.deps import Csrf, PageCtx
from matchning.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)
RUNS_PAGE = 25


def committed_principal(request: Request) -> Principal:
    """The logged-in principal, read in a unit of work that has ended before the route runs.

    For the retrain button: start_retrain writes in transactions of its own and the job goes on
    in a thread. A request transaction left open across those commits would, on SQLite, keep
    a stale snapshot (any later write in it fails) and could hold locks the job waits for.
    """
    found = web_session.current(request)
    if found is None:
        raise Unauthenticated()
    with unit_of_work(request.app.state.session_factory) as session:
        try:
            principal = users.authenticate_session(session, *found)
        except Unauthenticated:
            web_session.end(request)
            raise
    request.state.principal = principal
    return principal


CommittedPagePrincipal = Annotated[Principal, Depends(committed_principal)]


def _models_page(request: Request, ctx: PageCtx, error: str | None = None,
                 status: int = 200) -> Response:
    views = model_admin.list_versions(ctx)
    versions = [model_views.summary(v) for v in views]
    points = model_views.chart_points(views)
    runs, _ = model_admin.runs_page(ctx, 1, 0)
    return render(request, "admin/models.html", {
        "versions": versions, "active": next((v for v in versions if v["active"]), None),
        "points": points, "columns": model_views.chart_columns(points),
        "chart_text": model_views.chart_text(points),
        "names": model_views.SYSTEM_NAMES, "num": model_views.number,
        "last_run": runs[0] if runs else None, "run_status": model_views.RUN_STATUS,
        "error": error,
    }, status=status)


@router.get("/modeller")
def models_page(request: Request, ctx: PageCtx) -> Response:
    return _models_page(request, ctx)


@router.get("/modeller/diagram.png")
def models_chart(ctx: PageCtx) -> Response:
    points = model_views.chart_points(model_admin.list_versions(ctx))
    return Response(plots.ndcg_chart(points, model_views.SYSTEM_NAMES),
                    media_type="image/png")


@router.get("/modeller/{version}")
def version_page(request: Request, version: str, ctx: PageCtx) -> Response:
    view = model_views.summary(model_admin.show(ctx, version))
    return render(request, "admin/version.html", {"v": view, "num": model_views.number})


@router.post("/modeller/{version}/aktivera", dependencies=[Csrf])
def promote(request: Request, version: str, ctx: PageCtx) -> Response:
    try:
        model_admin.promote(ctx, version)
    except Conflict as exc:
        ctx.session.rollback()
        return _models_page(request, ctx, exc.message, 409)
    web_session.flash(request, f"Version {version} är aktiv nu. Förslagen använder den "
                               "från nästa sökning.")
    return RedirectResponse("/admin/modeller", status_code=303)


@router.post("/modeller/aterga", dependencies=[Csrf])
def rollback(request: Request, ctx: PageCtx) -> Response:
    try:
        view = model_admin.rollback(ctx)
    except Conflict as exc:
        ctx.session.rollback()
        return _models_page(request, ctx, exc.message, 409)
    web_session.flash(request, f"Tillbaka på version {view.meta['version']}.")
    return RedirectResponse("/admin/modeller", status_code=303)


@router.post("/omtraning", dependencies=[Csrf])
def start_retrain(request: Request, principal: CommittedPagePrincipal,
                  settings: SettingsDep) -> Response:
    state = request.app.state
    try:
        run_id = model_admin.start_retrain(principal, settings, state.session_factory,
                                           state.engine)
    except RetrainRunning as exc:
        running = next((d.get("job_id") for d in exc.details if d.get("job_id")), None)
        return render(request, "admin/retrain_busy.html", {"job_id": running}, status=409)
    web_session.flash(request, "Omträningen har startat. Sidan uppdateras av sig själv tills "
                               "den är klar.")
    return RedirectResponse(f"/admin/jobb/{run_id}", status_code=303)


@router.get("/jobb/{run_id}")
def job_page(request: Request, run_id: int, ctx: PageCtx) -> Response:
    run = model_admin.run(ctx, run_id)
    return render(request, "admin/job.html", {
        "r": run, "status": model_views.RUN_STATUS, "trigger": model_views.TRIGGER,
        "tid": model_views.local_time, "num": model_views.number,
        "metrics": model_views.metric_rows(run.candidate_metrics or {},
                                           run.active_metrics or {}),
        "note": (run.active_metrics or {}).get("note"),
    })


@router.get("/korningar")
def runs_page(request: Request, ctx: PageCtx, offset: int = 0) -> Response:
    offset = max(offset, 0)
    rows, total = model_admin.runs_page(ctx, RUNS_PAGE, offset)
    return render(request, "admin/runs.html", {
        "rows": rows, "total": total, "offset": offset, "limit": RUNS_PAGE,
        "base": "/admin/korningar?", "status": model_views.RUN_STATUS,
        "trigger": model_views.TRIGGER, "tid": model_views.local_time,
    })
