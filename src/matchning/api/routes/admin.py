"""The model lifecycle for system admins: versions, promote, rollback, retrain runs (jobs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from matchning.api.deps import CommittedPrincipalDep, CtxDep, PagingDep, SettingsDep
from matchning.api.responses import BY_ID, errors
from matchning.api.schemas import (
    ModelVersionDetailPublic,
    ModelVersionPublic,
    Page,
    RetrainJobPublic,
    RetrainStartedPublic,
)
from matchning.domain.records import Id
from matchning.services import model_admin

router = APIRouter(prefix="/admin", tags=["modeller"])

Version = Annotated[str, Path(max_length=64, description="Versionens id, t.ex. "
                                                         "20261122T211334Z-80ad03")]


@router.get("/models", response_model=list[ModelVersionPublic])
def list_models(ctx: CtxDep) -> list[ModelVersionPublic]:
    """Every saved version, newest first, with the active one marked."""
    return [ModelVersionPublic.of(v) for v in model_admin.list_versions(ctx)]


@router.post("/models/rollback", response_model=ModelVersionPublic, responses=errors(409))
def rollback(ctx: CtxDep) -> ModelVersionPublic:
    """Back to the version that was active before the current one (409 when there is none)."""
    return ModelVersionPublic.of(model_admin.rollback(ctx))


@router.get("/models/{version}", response_model=ModelVersionDetailPublic, responses=BY_ID)
def show_model(version: Version, ctx: CtxDep) -> ModelVersionDetailPublic:
    return ModelVersionDetailPublic.of(model_admin.show(ctx, version))


@router.post("/models/{version}/promote", response_model=ModelVersionPublic,
             responses=errors(404, 409))
def promote(version: Version, ctx: CtxDep) -> ModelVersionPublic:
    """Make the version active in every worker (409 when its files do not load)."""
    return ModelVersionPublic.of(model_admin.promote(ctx, version))


@router.post("/retrain", response_model=RetrainStartedPublic, status_code=202,
             responses=errors(409))
def retrain(request: Request, principal: CommittedPrincipalDep, settings: SettingsDep
            ) -> RetrainStartedPublic:
    """Start the gated retrain in the background; follow it at /admin/jobs/{job_id}.
    409 (with the running run's id) while another retrain runs."""
    state = request.app.state
    job_id = model_admin.start_retrain(principal, settings, state.session_factory, state.engine)
    return RetrainStartedPublic(job_id=job_id)


@router.get("/jobs", response_model=Page[RetrainJobPublic])
def list_jobs(ctx: CtxDep, paging: PagingDep) -> Page[RetrainJobPublic]:
    """The retrain runs, newest first."""
    rows, total = model_admin.runs_page(ctx, paging.limit, paging.offset)
    return Page(items=[RetrainJobPublic.model_validate(r) for r in rows], total=total)


@router.get("/jobs/{job_id}", response_model=RetrainJobPublic, responses=BY_ID)
def get_job(job_id: Id, ctx: CtxDep) -> RetrainJobPublic:
    return RetrainJobPublic.model_validate(model_admin.run(ctx, job_id))
