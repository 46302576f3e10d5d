"""The FastAPI application: JSON API under /api/v1, the Swedish pages at the root, health
checks, OpenAPI at /docs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from threadpoolctl import threadpool_limits

from matchning import __version__, log_privacy
from matchning.api import errors
from matchning.api.concurrency import ConcurrencyLimit
from matchning.api.limits import BodySizeLimit
from matchning.api.responses import EVERY_ROUTE
from matchning.api.routes import (
    admin,
    allocations,
    audit,
    auth,
    employers,
    fairness,
    participants,
    placements,
    recommendations,
    reference,
    slots,
    unit_reports,
    units,
    users,
)
from matchning.config import Settings, get_settings
from matchning.services.login_guard import LoginGuard
from matchning.services.matcher import Matcher
from matchning.storage.db import engine_from_settings, make_session_factory
from matchning.web import errors as page_errors
from matchning.web.install import install as install_pages

log = logging.getLogger("matchning")

ROUTERS = (auth, units, unit_reports, users, employers, slots, participants, placements,
           recommendations, reference, admin, audit, fairness, allocations)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app. The engine is made in the lifespan unless one is handed in (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Many BLAS (and OpenMP) threads on 2 cores made numpy endpoints far slower under
        # concurrency; one thread per worker.
        limiter = threadpool_limits(limits=1)
        own = engine is None
        app.state.settings = settings or get_settings()
        app.state.engine = engine or engine_from_settings(app.state.settings)
        app.state.session_factory = make_session_factory(app.state.engine)
        app.state.matcher = Matcher(app.state.settings.models_dir)
        try:
            yield
        finally:
            if own:
                app.state.engine.dispose()
            limiter.restore_original_limits()

    app = FastAPI(
        title="matchning",
        version=__version__,
        description="Rätt plats för rätt person: praktikplatser, deltagare och placeringar "
                    "för arbetsmarknadsenheter. Alla anrop kräver `Authorization: Bearer`.",
        lifespan=lifespan,
    )
    errors.install(app, page=page_errors.page)
    log_privacy.install()
    api = APIRouter(prefix="/api/v1", responses=EVERY_ROUTE)
    for module in ROUTERS:
        api.include_router(module.router)
    app.include_router(api)
    app.add_api_route("/health", health, methods=["GET"], tags=["drift"])
    app.add_api_route("/ready", ready, methods=["GET"], tags=["drift"])
    app.state.login_guard = LoginGuard(settings or get_settings())
    install_pages(app, settings or get_settings())
    app.add_middleware(BodySizeLimit, max_bytes=(settings or get_settings()).max_body_bytes)
    app.add_middleware(ConcurrencyLimit, limit=(settings or get_settings()).worker_concurrency)
    return app


def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__}


def ready(request: Request) -> JSONResponse:
    """The database answers."""
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("not ready: %s", type(exc).__name__)
        return JSONResponse(errors.error_body("unavailable", "Databasen svarar inte."), 503)
    return JSONResponse({"status": "ready"})
