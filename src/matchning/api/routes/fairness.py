"""The fairness report: results per group (unit admins their unit, system admins any)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from matchning.api.deps import CtxDep
from matchning.api.responses import BY_ID
from matchning.services import fairness

router = APIRouter(prefix="/fairness", tags=["rättvisa"])


@router.get("", responses=BY_ID)  # 404: a unit that is not there, or not yours
def fairness_report(
    ctx: CtxDep,
    unit_id: int | None = Query(None, description="Enheten (systemadministratörer; utan: "
                                                  "alla enheter)"),
    k: int = Query(fairness.DEFAULT_K, ge=1, le=fairness.MAX_K,
                   description="Antal möjliga förslag en deltagare minst ska ha"),
    threshold: float = Query(fairness.DEFAULT_THRESHOLD, gt=0, le=1,
                             description="Flagga grupper under denna kvot mot bästa grupp"),
) -> dict[str, Any]:
    """Per target group, gender, age band and Swedish level: the share of waiting
    participants with at least k feasible suggestions, the mean score of the top suggestion,
    the realised completion and work/studies rates, each with its ratio to the best group;
    `flagged` below the threshold beyond chance, `uncertain` below it without. Rates of groups
    under 5 are null (`suppressed`). See docs/fairness.md."""
    return fairness.as_json(fairness.report(ctx, unit_id, k, threshold))
