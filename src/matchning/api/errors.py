"""One place that turns errors into JSON responses:
`{"error": {"code", "message", "details"}}` with Swedish messages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from matchning.domain.messages import PYDANTIC_SV as PYDANTIC_SV  # re-exported
from matchning.domain.messages import translate
from matchning.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MatchningError,
    NotFound,
    ServiceUnavailable,
    TooManyAttempts,
    Unauthenticated,
)

log = logging.getLogger("matchning.api")

STATUS = {NotFound: 404, Unauthenticated: 401, Forbidden: 403, InvalidInput: 422,
          Conflict: 409, ServiceUnavailable: 503, TooManyAttempts: 429}


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


# Renders an error as a web page: (request, status, code, message, details) -> response.
PageRenderer = Callable[[Request, int, str, str, list[dict[str, Any]]], Response]
API_PREFIXES = ("/api/", "/health", "/ready", "/docs", "/openapi", "/redoc")


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)


def install(app: FastAPI, page: PageRenderer | None = None) -> None:
    """JSON errors for the API; when `page` is given, the pages' paths get an HTML page."""

    def respond(request: Request, status: int, code: str, message: str,
                details: list[dict[str, Any]] | None = None,
                headers: dict[str, str] | None = None) -> Response:
        if page is not None and not is_api(request):
            return page(request, status, code, message, details or [])
        return JSONResponse(error_body(code, message, details), status, headers=headers)

    @app.exception_handler(MatchningError)
    async def _domain(request: Request, exc: MatchningError) -> Response:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return respond(request, status, exc.code, exc.message, exc.details, headers)

    # A PATCH is validated twice: the partial body by FastAPI, then the merged record by the
    # service (`Model.model_validate`), whose pydantic ValidationError must be a 422 too.
    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)
    async def _validation(request: Request, exc: RequestValidationError | ValidationError
                          ) -> Response:
        details = [translate(e) for e in exc.errors()]  # type: ignore[arg-type]
        return respond(request, 422, "invalid_input", "Uppgifterna är inte giltiga: "
                       + "; ".join(f"{d['field'] or 'indata'}: {d['message']}"
                                   for d in details[:5]), details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "Adressen finns inte.", 405: "Metoden stöds inte för den här adressen.",
                    413: "Förfrågan är för stor.", 401: "Du behöver logga in.",
                    400: "Innehållet går inte att läsa: skicka JSON i UTF-8."}
        return respond(request, exc.status_code, f"http_{exc.status_code}",
                       messages.get(exc.status_code, str(exc.detail)),
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        log.warning("integrity error: %s", type(exc.orig).__name__)
        return respond(request, 409, "conflict", "Uppgiften krockar med något som redan "
                       "finns sparat. Inget har ändrats.")

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: DBAPIError) -> Response:
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return respond(request, 503, "unavailable", "Databasen svarar inte just nu. Inget har "
                       "sparats; försök igen om en stund.")

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> Response:
        log.error("database error: %s", type(exc.orig).__name__)
        return respond(request, 500, "database_error", "Ett databasfel inträffade. Inget har "
                       "sparats; försök igen.")

    if page is not None:
        @app.exception_handler(Exception)
        async def _unexpected(request: Request, exc: Exception) -> Response:
            # Only the type goes to the log: a message may carry personal data.
            log.error("unexpected error on %s: %s", request.url.path, type(exc).__name__)
            return respond(request, 500, "internal_error", "Något gick fel hos oss. Inget "
                           "har sparats; försök igen om en stund.")
