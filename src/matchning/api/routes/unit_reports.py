"""A unit's results report and slot-gap analysis (unit staff of the unit; system admins)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from matchning.api.deps import CtxDep
from matchning.api.responses import BY_ID
from matchning.domain.records import Id
from matchning.services import gaps, results, results_export

router = APIRouter(prefix="/units", tags=["enheter"])


@router.get("/{unit_id}/report", response_model=None, responses=BY_ID)
def unit_report(
    unit_id: Id, ctx: CtxDep,
    from_: str | None = Query(None, alias="from", max_length=20,
                              description="Första dagen, ÅÅÅÅ-MM-DD (utan: tolv månader före "
                                          "till-datumet)"),
    to: str | None = Query(None, max_length=20, description="Sista dagen, ÅÅÅÅ-MM-DD "
                                                             "(utan: i dag)"),
    format: Literal["json", "csv"] = Query("json", description="json, eller csv (export: "
                                                               "grupper under 5 personer "
                                                               "döljs)"),
) -> dict[str, Any] | Response:
    """The unit's results for the period beside the previous period of the same length:
    participants served, exits by outcome, the placement funnel, times to placement; in total
    and per target group, kommun, consultant and occupation group. JSON marks groups of fewer
    than 5 people `small`; the CSV export blanks them."""
    period = results.period_of(ctx, from_, to)
    if format == "csv":
        ur = results.unit_report(ctx, unit_id, period, action=results.EXPORT, fmt="csv")
        name = f"resultat-enhet-{unit_id}-{period.start}-{period.end}.csv"
        return Response(results_export.to_csv(ur), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    ur = results.unit_report(ctx, unit_id, period)
    return results_export.to_json(ur, suppress=False)


@router.get("/{unit_id}/gaps", responses=BY_ID)
def unit_gaps(unit_id: Id, ctx: CtxDep,
              top: int = Query(gaps.DEFAULT_TOP, ge=1, le=gaps.MAX_TOP,
                               description="Antal luckor")) -> dict[str, Any]:
    """Where the unit's waiting participants lack feasible slots with free places, by
    occupation and kommun, largest shortfall first, with the shortage index and a call list
    of employers in reach that offer slots in the same or a nearby occupation."""
    return gaps.as_json(ctx, gaps.analyse(ctx, unit_id, top))
