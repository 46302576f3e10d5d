"""`demo`, `import` and `export`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from matchning.cli.common import fail, settings, system_context
from matchning.errors import MatchningError
from matchning.storage.db import engine_from_settings, make_session_factory


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        participants: int = typer.Option(1000, min=1),
        employers: int = typer.Option(300, min=1),
        slots: int = typer.Option(800, min=1),
        months: int = typer.Option(24, min=1, max=240),
        units: int = typer.Option(1, min=1, max=50),
        seed: int = typer.Option(42),
        variant: str = typer.Option("default", help="default | alt (andra dolda vikter)"),
        today: str = typer.Option(None, help="Slutdatum för historiken (ÅÅÅÅ-MM-DD)"),
        truth: Path = typer.Option(None, help="Fil för de sanna sannolikheterna "
                                               "(standard: DATA_DIR/demo_truth.npz)"),
        if_empty: bool = typer.Option(False, "--if-empty",
                                      help="Gör inget om databasen redan har data"),
    ) -> None:
        """Seed a realistic demo world (real reference data, generated people and history)."""
        from matchning.demo import DemoConfig, database_is_empty, seed_demo_world
        from matchning.domain.vocab import Role
        from matchning.services import users
        from matchning.storage.repositories import users as user_repo

        s = settings()
        engine = engine_from_settings(s)
        try:
            if not database_is_empty(engine):
                if not if_empty:
                    typer.echo("Databasen har redan data; demo-världen skapas bara i en tom "
                               "databas.", err=True)
                    raise typer.Exit(1)
                with system_context() as ctx:
                    user = user_repo.first_active(ctx.session, Role.consultant.value)
                    typer.echo("Databasen har redan data; ingen ny demo-värld skapas.")
                    if user is not None:
                        issued = users.issue_token(ctx, user.id, "demo")
                        typer.echo(f"Prova som konsulent {user.email} (lösenord: se README) "
                                   f"eller med en ny token:\n  {issued.token}")
                return
            config = DemoConfig(participants=participants, employers=employers, slots=slots,
                                months=months, units=units, seed=seed, variant=variant,
                                today=date.fromisoformat(today) if today else None)
            summary = seed_demo_world(engine, config,
                                      truth_path=truth or s.data_dir / "demo_truth.npz")
        finally:
            engine.dispose()
        typer.echo(f"Demo-världen skapad på {summary.seconds:.1f} s: "
                   + ", ".join(f"{k} {v}" for k, v in summary.counts.items()))
        for login in summary.logins:
            typer.echo(f"  {login['role']:<13} {login['email']:<40} lösenord: "
                       f"{login['password']}  token: {login['token']}")

    @app.command("import")
    def import_(directory: Path = typer.Argument(..., exists=True, file_okay=False)) -> None:
        """Import units/employers/slots/participants/placements CSV files from DIRECTORY."""
        from matchning.importer import import_directory

        s = settings()
        engine = engine_from_settings(s)
        try:
            report = import_directory(make_session_factory(engine), directory, s)
        finally:
            engine.dispose()
        for f in report.files:
            state = "sparad" if f.stored else "INTE sparad"
            typer.echo(f"{f.file}: {f.rows} rader, {f.inserted} nya, {f.updated} uppdaterade "
                       f"({state})")
            for e in f.errors:
                where = f"rad {e.line}" if e.line else "hela filen"
                where += f", kolumn {e.column}" if e.column else ""
                typer.echo(f"  {where}: {e.message}", err=True)
        if not report.ok:
            raise typer.Exit(1)

    @app.command()
    def export(participant: str = typer.Option(..., help="Internt id eller enhetens eget id"),
               out: Path = typer.Option(None, help="Fil att skriva; standard: stdout")) -> None:
        """Everything stored about one participant as JSON (GDPR right of access)."""
        from matchning.services import export as export_service

        try:
            with system_context() as ctx:
                pid = export_service.find_participant_id(ctx, participant)
                data = export_service.export_participant(ctx, pid)
        except MatchningError as exc:
            fail(exc)
        text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        if out:
            out.write_text(text, encoding="utf-8")
            typer.echo(f"Skrev {out}")
        else:
            typer.echo(text)
