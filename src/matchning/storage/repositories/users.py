"""Queries about units, users and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session

from matchning.storage.tables import ApiTokenRow, UnitRow, UserRow


def user_by_email(session: Session, email: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(UserRow.email == email.lower())).first()


_TOKEN_OWNER = (
    select(ApiTokenRow.id, ApiTokenRow.last_used_at, UserRow.id, UserRow.email, UserRow.role,
           UserRow.unit_id, UserRow.employer_id)
    .join(UserRow, UserRow.id == ApiTokenRow.user_id)
    .where(ApiTokenRow.token_hash == bindparam("token_hash"),
           ApiTokenRow.revoked_at.is_(None), ApiTokenRow.expires_at > bindparam("now"),
           UserRow.active.is_(True)))


@dataclass(frozen=True)
class TokenOwner:
    token_id: int
    last_used_at: datetime | None
    user_id: int
    email: str
    role: str
    unit_id: int | None
    employer_id: int | None


def token_owner(session: Session, token_hash: str, now: datetime) -> TokenOwner | None:
    """The live token with this hash and its active user, or None. Columns, not ORM
    objects: every API request asks this."""
    row = session.execute(_TOKEN_OWNER, {"token_hash": token_hash, "now": now}).first()
    return TokenOwner(*row) if row else None


def touch_token(session: Session, token_id: int, now: datetime) -> None:
    """Set the token's last use, unless another transaction is setting it right now (its
    row is locked): then that one records the use, and this request does not queue on the
    lock for the rest of the other's request. (SQLite has no row locks; a request there
    holds the database's write lock anyway.)"""
    free = session.scalar(select(ApiTokenRow.id).where(ApiTokenRow.id == token_id)
                          .with_for_update(skip_locked=True))
    if free is not None:
        session.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id)
                        .values(last_used_at=now))


def users_query(*, unit_id: int | None = None, role: str | None = None,
                employer_id: int | None = None) -> Select[tuple[UserRow]]:
    stmt = select(UserRow).order_by(UserRow.id)
    if unit_id is not None:
        stmt = stmt.where(UserRow.unit_id == unit_id)
    if role is not None:
        stmt = stmt.where(UserRow.role == role)
    if employer_id is not None:
        stmt = stmt.where(UserRow.employer_id == employer_id)
    return stmt


def tokens_of(session: Session, user_id: int) -> list[ApiTokenRow]:
    return list(session.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == user_id)
                                .order_by(ApiTokenRow.id)))


def units_query(*, unit_id: int | None = None) -> Select[tuple[UnitRow]]:
    stmt = select(UnitRow).order_by(UnitRow.id)
    if unit_id is not None:
        stmt = stmt.where(UnitRow.id == unit_id)
    return stmt


def unit_by_name(session: Session, name: str) -> UnitRow | None:
    return session.scalars(select(UnitRow).where(UnitRow.name == name)).first()


def first_active(session: Session, role: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(UserRow.role == role, UserRow.active.is_(True))
                           .order_by(UserRow.id).limit(1)).first()
