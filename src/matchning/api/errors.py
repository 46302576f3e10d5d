"""One place that turns errors into JSON responses:
`{"error": {"code", "message", "details"}}` with Swedish messages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

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

# Swedish texts for the pydantic error types a consultant is likely to meet.
PYDANTIC_SV = {
    "missing": "Fältet måste fyllas i.",
    "string_too_long": "Texten är för lång (högst {max_length} tecken).",
    "string_too_short": "Texten är för kort (minst {min_length} tecken).",
    "string_pattern_mismatch": "Fel format.",
    "string_type": "Ska vara text.",
    "int_parsing": "Ska vara ett heltal.",
    "int_type": "Ska vara ett heltal.",
    "int_from_float": "Ska vara ett heltal.",
    "float_parsing": "Ska vara ett tal.",
    "float_type": "Ska vara ett tal.",
    "bool_parsing": "Ska vara true eller false.",
    "bool_type": "Ska vara true eller false.",
    "date_from_datetime_parsing": "Ska vara ett datum (ÅÅÅÅ-MM-DD).",
    "date_parsing": "Ska vara ett datum (ÅÅÅÅ-MM-DD).",
    "date_type": "Ska vara ett datum (ÅÅÅÅ-MM-DD).",
    "enum": "Ogiltigt värde; tillåtna: {expected}.",
    "literal_error": "Ogiltigt värde; tillåtna: {expected}.",
    "greater_than": "Ska vara större än {gt}.",
    "greater_than_equal": "Ska vara minst {ge}.",
    "less_than": "Ska vara mindre än {lt}.",
    "less_than_equal": "Får vara högst {le}.",
    "too_long": "För många värden (högst {max_length}).",
    "too_short": "För få värden (minst {min_length}).",
    "list_type": "Ska vara en lista.",
    "dict_type": "Ska vara ett objekt.",
    "extra_forbidden": "Okänt fält.",
    "value_error": "{msg}",
    "json_invalid": "Ogiltig JSON.",
    "model_attributes_type": "Ska vara ett objekt.",
    "value_error.email": "Ogiltig e-postadress.",
}


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def translate(err: dict[str, Any]) -> dict[str, Any]:
    """A pydantic error as a `{"field", "message"}` detail in Swedish."""
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    ctx = {k: v for k, v in (err.get("ctx") or {}).items()}
    template = PYDANTIC_SV.get(err.get("type", ""))
    msg = err.get("msg", "")
    if err.get("type") == "value_error":
        msg = msg.removeprefix("Value error, ")
        if "email" in msg.lower():
            msg = "Ogiltig e-postadress."
    try:
        text = template.format(msg=msg, **ctx) if template else msg
    except (KeyError, IndexError):
        text = msg
    return {"field": ".".join(loc), "message": text, "type": err.get("type")}


def install(app: FastAPI) -> None:
    @app.exception_handler(MatchningError)
    async def _domain(_: Request, exc: MatchningError) -> JSONResponse:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [translate(e) for e in exc.errors()]
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
