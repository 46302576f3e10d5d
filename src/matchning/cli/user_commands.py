"""`matchning users ...`: units, users, passwords and API tokens."""

from __future__ import annotations

import getpass

import typer

from matchning.cli.common import echo_json, fail, system_context
from matchning.domain.records import UnitData
from matchning.domain.vocab import Role
from matchning.errors import MatchningError, NotFound
from matchning.services import units, users
from matchning.storage.repositories import users as user_repo

app = typer.Typer(no_args_is_help=True)


def _user_id(ctx, email: str) -> int:
    row = user_repo.user_by_email(ctx.session, email)
    if row is None:
        raise NotFound(f"Ingen användare med e-postadressen {email}.")
    return row.id


@app.command("create-unit")
def create_unit(name: str, kommuner: str = typer.Option(..., help="Kommunkoder, t.ex. 0180|0184")
                ) -> None:
    """Create a unit (enhet) covering the given municipalities."""
    try:
        with system_context() as ctx:
            row = units.create(ctx, UnitData(name=name, kommuner=kommuner.split("|")))
    except MatchningError as exc:
        fail(exc)
    typer.echo(f"Enhet {row.id}: {row.name}")  # only once committed


@app.command("create")
def create_user(email: str, role: Role = typer.Option(...),
                unit: int = typer.Option(None, help="Enhetens id (konsulent, enhetsadmin)"),
                employer: int = typer.Option(None, help="Arbetsgivarens id (arbetsgivare)"),
                name: str = typer.Option("", help="Visningsnamn"),
                password: str = typer.Option(None, help="Lösenord; frågas efter om det saknas"),
                token: bool = typer.Option(False, help="Skapa också en API-token"),
                ) -> None:
    """Create a user with a password (and optionally an API token)."""
    if password is None:
        password = getpass.getpass("Lösenord: ")
    try:
        with system_context() as ctx:
            row = users.create(ctx, users.UserData(email=email, role=role, unit_id=unit,
                                                   employer_id=employer, display_name=name,
                                                   password=password))
            issued = users.issue_token(ctx, row.id, "cli") if token else None
    except MatchningError as exc:
        fail(exc)
    typer.echo(f"Användare {row.id}: {row.email} ({row.role})")  # only once committed
    if issued is not None:
        typer.echo(f"Token (visas bara nu): {issued.token}")


@app.command("list")
def list_users(role: Role = typer.Option(None), json_out: bool = typer.Option(False, "--json")
               ) -> None:
    """List users (and their tokens' state)."""
    with system_context() as ctx:
        rows, _ = users.list_users(ctx, 100_000, 0, role.value if role else None)
        for r in rows:
            toks = users.tokens(ctx, r.id)
            live = sum(1 for t in toks if t.revoked_at is None)
            item = {"id": r.id, "email": r.email, "role": r.role, "unit_id": r.unit_id,
                    "employer_id": r.employer_id, "active": r.active, "live_tokens": live}
            if json_out:
                echo_json(item)
            else:
                typer.echo(f"{r.id:>5}  {r.email:<40} {r.role:<13} enhet={r.unit_id} "
                           f"arbetsgivare={r.employer_id} aktiv={r.active} tokens={live}")


@app.command("password")
def set_password(email: str, password: str = typer.Option(None)) -> None:
    """Set a user's password."""
    if password is None:
        password = getpass.getpass("Nytt lösenord: ")
    try:
        with system_context() as ctx:
            users.update(ctx, _user_id(ctx, email), password=password)
            typer.echo("Lösenordet är bytt.")
    except MatchningError as exc:
        fail(exc)


@app.command("token")
def issue_token(email: str, name: str = typer.Option("cli"),
                days: int = typer.Option(None, help="Giltighet i dagar")) -> None:
    """Issue an API token for a user (printed once)."""
    try:
        with system_context() as ctx:
            issued = users.issue_token(ctx, _user_id(ctx, email), name, days)
            typer.echo(issued.token)
    except MatchningError as exc:
        fail(exc)


@app.command("revoke")
def revoke(email: str, token_id: int = typer.Option(None, help="En token; utan: alla")) -> None:
    """Revoke one or all API tokens of a user."""
    try:
        with system_context() as ctx:
            uid = _user_id(ctx, email)
            ids = [token_id] if token_id else [t.id for t in users.tokens(ctx, uid)
                                               if t.revoked_at is None]
            for tid in ids:
                users.revoke_token(ctx, uid, tid)
            typer.echo(f"{len(ids)} token(s) återkallade.")
    except MatchningError as exc:
        fail(exc)


@app.command("deactivate")
def deactivate(email: str) -> None:
    """Deactivate a user: no login, no token works."""
    try:
        with system_context() as ctx:
            users.update(ctx, _user_id(ctx, email), active=False)
            typer.echo("Användaren är inaktiverad.")
    except MatchningError as exc:
        fail(exc)
