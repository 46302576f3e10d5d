"""`audit`, `audit purge`, `erase` and `retention` (docs/security.md)."""

from __future__ import annotations

from datetime import date

import typer

from matchning.cli.common import echo_json, fail, system_context
from matchning.errors import MatchningError

audit_app = typer.Typer(help="Granskningsloggen: vem läste eller ändrade vad, och när.")


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"Fel: {name} ska vara ett datum ÅÅÅÅ-MM-DD, inte {value!r}.", err=True)
        raise typer.Exit(2) from None


@audit_app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    participant: int = typer.Option(None, help="Rader om deltagaren (internt id eller "
                                               "pseudonym efter radering)"),
    user: int = typer.Option(None, help="Rader av användaren"),
    from_: str = typer.Option(None, "--from", help="Första dagen (UTC), ÅÅÅÅ-MM-DD"),
    to: str = typer.Option(None, "--to", help="Sista dagen (UTC), ÅÅÅÅ-MM-DD"),
    limit: int = typer.Option(200, min=1, max=100_000, help="Högst så många rader"),
    as_json: bool = typer.Option(False, "--json", help="En JSON-rad per granskningsrad"),
) -> None:
    """Audit rows, newest first, by participant, user and period."""
    if ctx.invoked_subcommand is not None:
        return
    from matchning.services import audit as audit_service

    f = audit_service.AuditFilter(participant, user, _day(from_, "--from"), _day(to, "--to"))
    try:
        with system_context() as c:
            rows, total = audit_service.query(c, f, limit, 0)
            out = [{"id": r.id, "at": r.at.isoformat(), "user_id": r.user_id,
                    "action": r.action, "subject_type": r.subject_type,
                    "subject_id": r.subject_id, "unit_id": r.unit_id,
                    "model_version": r.model_version, "detail": r.detail} for r in rows]
    except MatchningError as exc:
        fail(exc)
    for r in out:
        if as_json:
            echo_json(r)
            continue
        who = f"användare {r['user_id']}" if r["user_id"] else "systemet"
        model = f"  modell {r['model_version']}" if r["model_version"] else ""
        typer.echo(f"{r['at'][:19]}  {who:<16} {r['action']:<28} "
                   f"{r['subject_type']} {r['subject_id']}{model}")
    if not as_json:
        typer.echo(f"{len(out)} av {total} rader.")


@audit_app.command("purge")
def purge(dry_run: bool = typer.Option(False, "--dry-run",
                                       help="Visa bara hur många rader som skulle tas bort")
          ) -> None:
    """Delete audit rows older than MATCHNING_AUDIT_RETENTION_MONTHS."""
    from matchning.services import audit as audit_service

    try:
        with system_context() as c:
            report = audit_service.purge(c, dry_run=dry_run)
    except MatchningError as exc:
        fail(exc)
    verb = "skulle tas bort" if report.dry_run else "borttagna"
    typer.echo(f"{report.rows} granskningsrader äldre än {report.cutoff.date()} {verb}.")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")

    @app.command()
    def erase(participant: str = typer.Argument(..., help="Internt id eller enhetens eget id"),
              yes: bool = typer.Option(False, "--yes", help="Fråga inte först")) -> None:
        """Erase a participant: the profile goes, the history stays only pseudonymised."""
        from matchning.services import erasure

        if not yes:
            typer.confirm(f"Radera deltagare {participant} för gott? Profilen tas bort; "
                          "placeringarna finns kvar utan koppling till personen.", abort=True)
        try:
            with system_context() as c:
                done = erasure.erase(c, erasure.find_participant(c, participant))
        except MatchningError as exc:
            fail(exc)
        typer.echo(f"Deltagare {participant} är raderad. {done.placements} placeringar och "
                   f"{done.feedback} markeringar finns kvar utan koppling till personen; "
                   f"{done.audit_rows} granskningsrader följde med.")

    @app.command()
    def retention(dry_run: bool = typer.Option(False, "--dry-run",
                                               help="Visa bara vilka som skulle raderas")
                  ) -> None:
        """Erase participants ended longer ago than MATCHNING_PARTICIPANT_RETENTION_MONTHS."""
        from matchning.services import retention as retention_service

        try:
            with system_context() as c:
                report = retention_service.run(c, dry_run=dry_run)
        except MatchningError as exc:
            fail(exc)
        typer.echo(f"Avslutade före {report.cutoff}: {len(report.due)} deltagare.")
        for who in report.due:
            ended = who.exit_date.isoformat() if who.exit_date else "slutdatum saknas"
            typer.echo(f"  id {who.participant_id}  enhet {who.unit_id}  avslutad {ended}")
        if report.dry_run:
            typer.echo("Torrkörning: inget är raderat.")
            return
        for who, why in report.skipped:
            typer.echo(f"Hoppade över id {who.participant_id}: {why}", err=True)
        typer.echo(f"{len(report.erased)} raderade, {len(report.skipped)} överhoppade.")
