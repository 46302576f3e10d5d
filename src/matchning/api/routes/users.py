"""Users and their API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Query

from matchning.api.deps import CtxDep, PagingDep
from matchning.api.responses import BY_ID, WRITE_BY_ID
from matchning.api.routes.bodies import TokenIn, UserUpdateIn
from matchning.api.schemas import IssuedTokenPublic, Page, TokenPublic, UserPublic
from matchning.domain.records import Id
from matchning.domain.vocab import Role
from matchning.services import users
from matchning.services.users import UserData

router = APIRouter(prefix="/users", tags=["användare"])


@router.post("", response_model=UserPublic, status_code=201, responses=WRITE_BY_ID)
def create_user(body: UserData, ctx: CtxDep) -> UserPublic:
    return UserPublic.model_validate(users.create(ctx, body))


@router.get("", response_model=Page[UserPublic])
def list_users(ctx: CtxDep, paging: PagingDep, role: Role | None = Query(None)
               ) -> Page[UserPublic]:
    rows, total = users.list_users(ctx, paging.limit, paging.offset,
                                   role.value if role else None)
    return Page(items=[UserPublic.model_validate(r) for r in rows], total=total)


@router.get("/{user_id}", response_model=UserPublic, responses=BY_ID)
def get_user(user_id: Id, ctx: CtxDep) -> UserPublic:
    return UserPublic.model_validate(users.get(ctx, user_id))


@router.patch("/{user_id}", response_model=UserPublic, responses=WRITE_BY_ID)
def update_user(user_id: Id, body: UserUpdateIn, ctx: CtxDep) -> UserPublic:
    return UserPublic.model_validate(users.update(ctx, user_id, **body.model_dump(
        exclude_unset=True)))


@router.get("/{user_id}/tokens", response_model=list[TokenPublic], responses=BY_ID)
def list_tokens(user_id: Id, ctx: CtxDep) -> list[TokenPublic]:
    return [TokenPublic.model_validate(t) for t in users.tokens(ctx, user_id)]


@router.post("/{user_id}/tokens", response_model=IssuedTokenPublic, status_code=201,
             responses=WRITE_BY_ID)
def issue_token(user_id: Id, body: TokenIn, ctx: CtxDep) -> IssuedTokenPublic:
    issued = users.issue_token(ctx, user_id, body.name, body.ttl_days)
    return IssuedTokenPublic(token=issued.token, token_id=issued.row.id, user_id=user_id,
                             expires_at=issued.row.expires_at)


@router.delete("/{user_id}/tokens/{token_id}", response_model=TokenPublic, responses=BY_ID)
def revoke_token(user_id: Id, token_id: Id, ctx: CtxDep) -> TokenPublic:
    return TokenPublic.model_validate(users.revoke_token(ctx, user_id, token_id))
