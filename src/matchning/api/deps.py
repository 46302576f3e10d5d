"""Dependencies shared by the routes: the unit of work, the principal, paging."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from matchning.config import Settings
from matchning.domain.principal import Principal
from matchning.errors import Unauthenticated
from matchning.services import users
from matchning.services.context import Context
from matchning.storage.db import WRITER, unit_of_work

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

bearer = HTTPBearer(auto_error=False, description="API-token: `Authorization: Bearer mt_...`")


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work.

    Declared with scope="function" so that the commit runs when the route returns and before
    the response is sent: a failed commit becomes an error response, never a 2xx.
    """
    with unit_of_work(request.app.state.session_factory) as session:
        session.connection(execution_options=WRITER)  # SQLite: BEGIN IMMEDIATE (storage.db)
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# Dependencies that only assemble what is at hand are `async def`: FastAPI runs a plain `def`
# dependency in the thread pool, a hand-off that cost more than the work.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    return credentials.credentials


def get_principal(session: SessionDep, credentials: Credentials) -> Principal:
    return users.authenticate_token(session, _token(credentials), datetime.now(UTC))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_principal_committed(request: Request, credentials: Credentials) -> Principal:
    """The principal, authenticated in a unit of work that is committed before the route runs.

    For routes whose service writes in transactions of its own (starting a retrain) and so
    needs no request session: on SQLite a request transaction that has read could not write
    after another connection committed (its snapshot is stale), so none is left open.
    """
    token = _token(credentials)
    with unit_of_work(request.app.state.session_factory) as session:
        return users.authenticate_token(session, token, datetime.now(UTC))


CommittedPrincipalDep = Annotated[Principal, Depends(get_principal_committed)]


async def get_context(request: Request, session: SessionDep, principal: PrincipalDep,
                settings: SettingsDep) -> Context:
    return Context(session=session, principal=principal, settings=settings,
                   matcher=request.app.state.matcher)


CtxDep = Annotated[Context, Depends(get_context)]


@dataclass
class Paging:
    limit: int
    offset: int


async def get_paging(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Max antal rader")] =
    DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Paging:
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(get_paging)]
