"""Log in with e-mail and password to get an API token; see who you are."""

from __future__ import annotations

from fastapi import APIRouter, Request

from matchning.api.deps import CtxDep, SessionDep, SettingsDep
from matchning.api.responses import errors
from matchning.api.routes.bodies import LoginIn
from matchning.api.schemas import IssuedTokenPublic, UserPublic
from matchning.domain.principal import Principal
from matchning.domain.vocab import Role
from matchning.services import users
from matchning.services.context import Context

router = APIRouter(prefix="/auth", tags=["inloggning"])


@router.post("/token", response_model=IssuedTokenPublic, status_code=201,
             responses=errors(400, 409, 413, 429))
def login(body: LoginIn, request: Request, session: SessionDep, settings: SettingsDep
          ) -> IssuedTokenPublic:
    anonymous = Principal(user_id=0, email="", role=Role.employer)
    ctx = Context(session=session, principal=anonymous, settings=settings)
    issued = users.login(ctx, body.email, body.password, guard=request.app.state.login_guard,
                         client=request.client.host if request.client else None)
    return IssuedTokenPublic(token=issued.token, token_id=issued.row.id,
                             user_id=issued.row.user_id, expires_at=issued.row.expires_at)


@router.get("/me", response_model=UserPublic)
def me(ctx: CtxDep) -> UserPublic:
    return UserPublic.model_validate(users.get(ctx, ctx.principal.user_id))
