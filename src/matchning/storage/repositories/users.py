"""Queries about units, users and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from matchning.storage.tables import ApiTokenRow, UnitRow, UserRow


def user_by_email(session: Session, email: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(UserRow.email == email.lower())).first()


def token_owner(session: Session, token_hash: str, now: datetime
                ) -> tuple[ApiTokenRow, UserRow] | None:
    """The live token with this hash and its active user, or None."""
    row = session.execute(
        select(ApiTokenRow, UserRow)
        .join(UserRow, UserRow.id == ApiTokenRow.user_id)
        .where(ApiTokenRow.token_hash == token_hash, ApiTokenRow.revoked_at.is_(None),
               ApiTokenRow.expires_at > now, UserRow.active.is_(True))
    ).first()
    return (row[0], row[1]) if row else None


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
