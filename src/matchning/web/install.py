"""Puts the pages into the app: session cookie, security headers, static files, routes."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from matchning.config import Settings
from matchning.web.routes import ROUTERS
from matchning.web.security_headers import SecurityHeaders
from matchning.web.templating import HERE


def install(app: FastAPI, settings: Settings) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in ROUTERS:
        app.include_router(module.router)
    app.add_middleware(SecurityHeaders)
    # The cookie is signed with the secret key; it holds ids and the CSRF token, no personal
    # data. Lax keeps it off cross-site POSTs as a second line behind the CSRF token.
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key,
                       session_cookie="matchning_session",
                       max_age=int(settings.session_hours * 3600), same_site="lax",
                       https_only=settings.environment == "production")
