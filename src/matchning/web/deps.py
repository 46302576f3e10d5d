"""Dependencies of the page routes: who is logged in, their Context, the CSRF check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from matchning.api.deps import SessionDep, SettingsDep
from matchning.domain.principal import Principal
from matchning.errors import Forbidden, Unauthenticated
from matchning.services import users
from matchning.services.context import Context
from matchning.web import session as web_session


class CsrfFailed(Forbidden):
    code = "csrf"
    default_message = ("Formuläret har gått ut eller kom inte från den här sidan. Ladda om "
                       "sidan och försök igen.")


def page_principal(request: Request, session: SessionDep) -> Principal:
    found = web_session.current(request)
    if found is None:
        raise Unauthenticated()
    try:
        principal = users.authenticate_session(session, *found)
    except Unauthenticated:
        web_session.end(request)
        raise
    request.state.principal = principal
    return principal


PagePrincipalDep = Annotated[Principal, Depends(page_principal)]


def page_context(request: Request, session: SessionDep, principal: PagePrincipalDep,
                 settings: SettingsDep) -> Context:
    return Context(session=session, principal=principal, settings=settings,
                   matcher=request.app.state.matcher)


PageCtx = Annotated[Context, Depends(page_context)]


async def csrf_checked(request: Request) -> None:
    """Every form that changes something carries the session's token (synchroniser pattern)."""
    form = await request.form()
    sent = form.get("csrf_token")
    if not web_session.csrf_ok(request, sent if isinstance(sent, str) else None):
        raise CsrfFailed()


Csrf = Depends(csrf_checked)
