"""Users, passwords and API tokens. Admins manage users; every user manages its own tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import EmailStr
from sqlalchemy.orm import Session

from matchning import security
from matchning.domain.principal import Principal
from matchning.domain.records import Id, Record
from matchning.domain.vocab import Role
from matchning.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from matchning.services.context import Context
from matchning.services.login_guard import LoginGuard
from matchning.storage.repositories import base
from matchning.storage.repositories import users as repo
from matchning.storage.tables import ApiTokenRow, EmployerRow, UnitRow, UserRow


class UserData(Record):
    email: EmailStr
    display_name: str = ""
    role: Role
    unit_id: Id | None = None
    employer_id: Id | None = None
    password: str | None = None


LAST_USED_RESOLUTION = timedelta(minutes=10)


@dataclass
class IssuedToken:
    token: str  # shown once; only its hash is stored
    row: ApiTokenRow


def principal_of(user: UserRow) -> Principal:
    return Principal(user_id=user.id, email=user.email, role=Role(user.role),
                     unit_id=user.unit_id, employer_id=user.employer_id)


def _may_manage(p: Principal, user_role: Role, unit_id: int | None) -> bool:
    if p.is_system_admin:
        return True
    # A unit admin manages its own unit's staff only (DESIGN.md, security model). Employer
    # users belong to no unit: letting every unit admin reset their passwords or issue their
    # tokens would reach across units. System admins manage them.
    return p.role is Role.unit_admin and (
        user_role in (Role.consultant, Role.unit_admin) and unit_id == p.unit_id)


def _check_links(ctx: Context, data: UserData) -> None:
    problems = []
    needs_unit = data.role in (Role.consultant, Role.unit_admin)
    if needs_unit and (data.unit_id is None or ctx.session.get(UnitRow, data.unit_id) is None):
        problems.append({"field": "unit_id", "message": "Ange en befintlig enhet."})
    if data.role is Role.employer and (
            data.employer_id is None or ctx.session.get(EmployerRow, data.employer_id) is None):
        problems.append({"field": "employer_id", "message": "Ange en befintlig arbetsgivare."})
    if not needs_unit and data.unit_id is not None:
        problems.append({"field": "unit_id", "message": "Bara personal på en enhet har enhet."})
    if data.role is not Role.employer and data.employer_id is not None:
        problems.append({"field": "employer_id",
                         "message": "Bara arbetsgivaranvändare har arbetsgivare."})
    if data.password is not None and len(data.password) < security.MIN_PASSWORD_LENGTH:
        problems.append({"field": "password", "message": "Lösenordet måste ha minst "
                         f"{security.MIN_PASSWORD_LENGTH} tecken."})
    if problems:
        raise InvalidInput(details=problems)


def create(ctx: Context, data: UserData) -> UserRow:
    if not _may_manage(ctx.principal, data.role, data.unit_id):
        raise Forbidden("Du får inte skapa användare med den rollen.")
    _check_links(ctx, data)
    email = data.email.lower()
    if repo.user_by_email(ctx.session, email):
        raise Conflict(f"Det finns redan en användare med e-postadressen {email}.")
    row = UserRow(email=email, display_name=data.display_name, role=data.role.value,
                  unit_id=data.unit_id, employer_id=data.employer_id, active=True,
                  password_hash=security.hash_password(data.password) if data.password else None)
    ctx.session.add(row)
    ctx.session.flush()
    return row


def get(ctx: Context, user_id: int) -> UserRow:
    row = ctx.session.get(UserRow, user_id)
    p = ctx.principal
    if row is None:
        raise NotFound("Användaren finns inte.")
    if row.id != p.user_id and not _may_manage(p, Role(row.role), row.unit_id):
        if p.role in (Role.unit_admin, Role.system_admin):
            raise NotFound("Användaren finns inte.")
        raise Forbidden()
    return row


def list_users(ctx: Context, limit: int, offset: int, role: str | None = None
               ) -> tuple[Sequence[UserRow], int]:
    p = ctx.principal
    if p.is_system_admin:
        stmt = repo.users_query(role=role)
    elif p.role is Role.unit_admin:
        stmt = repo.users_query(unit_id=p.unit_id, role=role)
    else:
        raise Forbidden("Bara administratörer ser användarlistan.")
    return base.page(ctx.session, stmt, limit, offset)


def update(ctx: Context, user_id: int, *, display_name: str | None = None,
           active: bool | None = None, password: str | None = None) -> UserRow:
    row = get(ctx, user_id)
    p = ctx.principal
    own = row.id == p.user_id
    if not _may_manage(p, Role(row.role), row.unit_id) and not (own and active is None):
        raise Forbidden()
    if password is not None:
        if len(password) < security.MIN_PASSWORD_LENGTH:
            raise InvalidInput(details=[{"field": "password", "message": "Lösenordet måste ha "
                                         f"minst {security.MIN_PASSWORD_LENGTH} tecken."}])
        row.password_hash = security.hash_password(password)
    if display_name is not None:
        row.display_name = display_name
    if active is not None:
        if own:
            raise Conflict("Du kan inte inaktivera ditt eget konto.")
        row.active = active
    ctx.session.flush()
    return row


def issue_token(ctx: Context, user_id: int, name: str = "", ttl_days: int | None = None
                ) -> IssuedToken:
    user = get(ctx, user_id)
    if user.id != ctx.principal.user_id and not _may_manage(ctx.principal, Role(user.role),
                                                            user.unit_id):
        raise Forbidden()
    if not user.active:
        raise Conflict("Användaren är inaktiverad.")
    token = security.new_token()
    now = ctx.now()
    row = ApiTokenRow(user_id=user.id, name=name[:100], token_hash=security.token_hash(token),
                      created_at=now,
                      expires_at=now + timedelta(days=ttl_days or ctx.settings.token_ttl_days))
    ctx.session.add(row)
    ctx.session.flush()
    return IssuedToken(token=token, row=row)


def tokens(ctx: Context, user_id: int) -> list[ApiTokenRow]:
    get(ctx, user_id)
    return repo.tokens_of(ctx.session, user_id)


def revoke_token(ctx: Context, user_id: int, token_id: int) -> ApiTokenRow:
    get(ctx, user_id)
    row = ctx.session.get(ApiTokenRow, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound("Token finns inte.")
    if row.revoked_at is None:
        row.revoked_at = ctx.now()
    ctx.session.flush()
    return row


# --- authentication (no principal yet) ---------------------------------------------------

def authenticate_token(session: Session, token: str, now: datetime) -> Principal:
    """The principal behind a bearer token; Unauthenticated when unknown, expired or revoked."""
    found = repo.token_owner(session, security.token_hash(token), now)
    if found is None:
        raise Unauthenticated()
    # Record use coarsely: a write on every read request would serialise SQLite readers.
    last = found.last_used_at
    if last is None or _aware(last) < now - LAST_USED_RESOLUTION:
        repo.touch_token(session, found.token_id, now)
    return Principal(user_id=found.user_id, email=found.email, role=Role(found.role),
                     unit_id=found.unit_id, employer_id=found.employer_id)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def check_password(session: Session, email: str, password: str) -> UserRow:
    """The active user with this e-mail and password; Unauthenticated otherwise."""
    user = repo.user_by_email(session, email.lower())
    if user is None or not user.active or not security.verify_password(user.password_hash,
                                                                       password):
        raise Unauthenticated("Fel e-postadress eller lösenord.")
    return user


def guarded_check(session: Session, email: str, password: str, guard: LoginGuard | None,
                  client: str | None) -> UserRow:
    """check_password behind the failed-login limit (when a guard is given)."""
    if guard is None:
        return check_password(session, email, password)
    guard.check(email, client)
    try:
        user = check_password(session, email, password)
    except Unauthenticated:
        guard.failed(email, client)
        raise
    guard.succeeded(email)
    return user


def login(ctx: Context, email: str, password: str, name: str = "login", *,
          guard: LoginGuard | None = None, client: str | None = None) -> IssuedToken:
    """Exchange e-mail and password for a new API token."""
    user = guarded_check(ctx.session, email, password, guard, client)
    ctx.principal = principal_of(user)
    return issue_token(ctx, user.id, name)


def password_stamp(user: UserRow) -> str:
    """A short fingerprint of the password hash: a page session remembers it, so changing or
    resetting the password ends every other session of the user."""
    return security.token_hash(user.password_hash or "")[:16]


def authenticate_session(session: Session, user_id: int, stamp: str) -> Principal:
    """The principal behind a page session; Unauthenticated when the user is gone, inactive or
    has a new password since the session began."""
    user = session.get(UserRow, user_id)
    if user is None or not user.active or password_stamp(user) != stamp:
        raise Unauthenticated("Du behöver logga in igen.")
    return principal_of(user)


def change_own_password(ctx: Context, current: str, new: str) -> UserRow:
    user = get(ctx, ctx.principal.user_id)
    if not security.verify_password(user.password_hash, current):
        raise InvalidInput(details=[{"field": "current", "message": "Nuvarande lösenord "
                                     "stämmer inte."}])
    return update(ctx, user.id, password=new)
