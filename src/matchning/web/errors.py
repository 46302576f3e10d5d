"""Errors as friendly Swedish pages that say what to do next."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from matchning.web.templating import render

TITLES = {
    400: "Det gick inte att göra så",
    401: "Du behöver logga in",
    403: "Du har inte behörighet",
    404: "Sidan finns inte",
    405: "Det gick inte att göra så",
    409: "Det krockar med hur det ser ut nu",
    413: "För mycket på en gång",
    422: "Uppgifterna stämmer inte",
    500: "Något gick fel hos oss",
    503: "Tjänsten är tillfälligt otillgänglig",
}
NEXT_STEPS = {
    403: "Sidan hör till någon annan roll eller en annan enhet. Gå tillbaka till din "
         "startsida, eller be din enhetsadministratör om behörighet om du behöver den.",
    404: "Kontrollera adressen, eller gå tillbaka till startsidan och sök därifrån. Det du "
         "letar efter kan ha tagits bort.",
    409: "Ladda om sidan för att se hur det ser ut just nu och försök sedan igen.",
    422: "Gå tillbaka, rätta uppgifterna och försök igen.",
    500: "Inget har sparats. Försök igen om en stund; om felet finns kvar, kontakta "
         "systemadministratören och berätta vad du gjorde.",
    503: "Inget har sparats. Vänta en stund och försök igen.",
}


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/logga-in?nasta={quote(target, safe='')}", status_code=303)


def page(request: Request, status: int, code: str, message: str,
         details: list[dict[str, Any]]) -> Response:
    if status == 401:
        return login_redirect(request)
    return render(request, "error.html", {
        "status": status, "code": code, "title": TITLES.get(status, "Något gick fel"),
        "message": message, "details": details,
        "next_step": NEXT_STEPS.get(status, NEXT_STEPS[422] if status < 500
                                    else NEXT_STEPS[500]),
    }, status=status)
