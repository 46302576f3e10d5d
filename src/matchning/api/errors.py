"""One place that turns errors into JSON responses:
`{"error": {"code", "message", "details"}}` with Swedish messages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
    Unauthenticated,
)

log = logging.getLogger("matchning.api")

STATUS = {NotFound: 404, Unauthenticated: 401, Forbidden: 403, InvalidInput: 422,
          Conflict: 409, ServiceUnavailable: 503}


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def install(app: FastAPI) -> None:
    @app.exception_handler(MatchningError)
    async def _domain(_: Request, exc: MatchningError) -> JSONResponse:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status,
                            headers=headers)

    # A PATCH is validated twice: the partial body by FastAPI, then the merged record by the
    # service (`Model.model_validate`), whose pydantic ValidationError must be a 422 too.
    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)
    async def _validation(_: Request, exc: RequestValidationError | ValidationError
                          ) -> JSONResponse:
        details = [translate(e) for e in exc.errors()]  # type: ignore[arg-type]
        return JSONResponse(error_body("invalid_input", "Uppgifterna är inte giltiga: "
                                       + "; ".join(f"{d['field'] or 'indata'}: {d['message']}"
                                                   for d in details[:5]), details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "Adressen finns inte.", 405: "Metoden stöds inte för den här adressen.",
                    413: "Förfrågan är för stor.", 401: "Du behöver logga in."}
        return JSONResponse(error_body(f"http_{exc.status_code}",
                                       messages.get(exc.status_code, str(exc.detail))),
                            exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error: %s", type(exc.orig).__name__)
        return JSONResponse(error_body("conflict", "Uppgiften krockar med något som redan "
                                       "finns sparat. Inget har ändrats."), 409)

    @app.exception_handler(OperationalError)
    async def _operational(_: Request, exc: DBAPIError) -> JSONResponse:
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return JSONResponse(error_body("unavailable", "Databasen svarar inte just nu. Inget har "
                                       "sparats; försök igen om en stund."), 503)

    @app.exception_handler(DBAPIError)
    async def _dbapi(_: Request, exc: DBAPIError) -> JSONResponse:
        log.error("database error: %s", type(exc.orig).__name__)
        return JSONResponse(error_body("database_error", "Ett databasfel inträffade. Inget har "
                                       "sparats; försök igen."), 500)
