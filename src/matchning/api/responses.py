"""The error responses the API documents in its OpenAPI, with the one body they all share.

Every route under /api/v1 documents 401, 403, 422 and 503 (set once on the API router); a
route adds what else it can answer: 404 when it names something by id; 400, 409 and 413 when
it writes from a body (unreadable, a conflict with what is stored, over the size limit); 429
for the login.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

DESCRIPTIONS = {
    400: "Innehållet går inte att läsa (inte JSON i UTF-8).",
    401: "Ingen eller ogiltig token.",
    403: "Rollen får inte göra detta.",
    404: "Finns inte, eller är inte synligt för dig.",
    409: "Krockar med det som finns sparat (t.ex. en otillåten statusändring eller en full "
         "praktikplats). Inget har ändrats.",
    413: "Förfrågan är för stor.",
    422: "Uppgifterna är inte giltiga.",
    429: "För många misslyckade inloggningar; försök igen senare.",
    503: "Tjänsten kan inte svara just nu (ingen aktiv modell, eller databasen svarar inte).",
}


class ErrorInfo(BaseModel):
    code: str = Field(description="Felkod, t.ex. not_found, invalid_input, conflict")
    message: str = Field(description="Vad som gick fel, på svenska")
    details: list[dict[str, Any]] = Field(
        description="Detaljer, t.ex. {field, message} per ogiltigt fält")


class ErrorResponse(BaseModel):
    error: ErrorInfo


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for these error statuses, all with the shared error body."""
    return {code: {"model": ErrorResponse, "description": DESCRIPTIONS[code]} for code in codes}


EVERY_ROUTE = errors(401, 403, 422, 503)
BY_ID = errors(404)  # reads one thing named by id
WRITE = errors(400, 409, 413)  # writes from a body
WRITE_BY_ID = errors(400, 404, 409, 413)
