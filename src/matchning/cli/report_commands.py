"""`matchning report` (the unit's results report) and `matchning gaps` (where it lacks slots)."""

from __future__ import annotations

from pathlib import Path

import typer

from matchning.cli.common import echo_json, fail, system_context
from matchning.errors import MatchningError

FORMATS = ("md", "csv", "json")


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        unit: str = typer.Option(..., "--unit", help="Enhetens interna eller externa id"),
        start: str = typer.Option(None, "--from", help="Första dagen, ÅÅÅÅ-MM-DD "
                                                       "(utan: tolv månader före --to)"),
        end: str = typer.Option(None, "--to", help="Sista dagen, ÅÅÅÅ-MM-DD (utan: i dag)"),
        fmt: str = typer.Option("md", "--format", help="md, csv eller json"),
        out: Path = typer.Option(None, "--out", help="Skriv till filen i stället för "
                                                      "standard ut"),
    ) -> None:
        """The unit's results for a period beside the previous period of the same length;
        groups of fewer than 5 people are suppressed (an export)."""
        from matchning.services import results, results_export
        from matchning.services.precompute import unit_id_of

        if fmt not in FORMATS:
            fail(MatchningError("Formatet ska vara md, csv eller json."))
        try:
            with system_context() as ctx:
                period = results.period_of(ctx, start, end)
                ur = results.unit_report(ctx, unit_id_of(ctx, unit), period,
                                         action=results.EXPORT, fmt=fmt)
                text = {"md": results_export.to_markdown, "csv": results_export.to_csv,
                        "json": results_export.to_json_text}[fmt](ur)
        except MatchningError as exc:
            fail(exc)
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            typer.echo(f"Rapporten skrevs till {out}.", err=True)

    @app.command()
    def gaps(
        unit: str = typer.Option(..., "--unit", help="Enhetens interna eller externa id"),
        top: int = typer.Option(20, "--top", min=1, max=200, help="Antal luckor"),
        as_json: bool = typer.Option(False, "--json", help="Ett JSON-objekt"),
    ) -> None:
        """The occupations and kommuner where the unit's waiting participants lack feasible
        slots with free places, with the shortage index and employers to call."""
        from matchning.services import gaps as service
        from matchning.services.precompute import unit_id_of

        try:
            with system_context() as ctx:
                data = service.as_json(ctx, service.analyse(ctx, unit_id_of(ctx, unit), top))
        except MatchningError as exc:
            fail(exc)
        if as_json:
            echo_json(data)
            return
        _print_gaps(data)


def _print_gaps(data: dict) -> None:
    typer.echo(f"{data['unit']['name']}: {data['waiting']} väntande deltagare, "
               f"{data['open_slots_with_places']} öppna platser med lediga platser.")
    if not data["gaps"]:
        typer.echo("Inga luckor: de lediga platserna räcker för de väntandes yrken.")
        return
    typer.echo(f"  {'#':>2} {'Yrke':<40} {'Kommun':<16} {'Delt.':>5} {'Utan':>5} "
               f"{'Plats':>5} {'Brist':>5} {'Index':>7}")
    for g in data["gaps"]:
        occ = f"{g['occupation']['code']} {g['occupation']['label']}"[:40]
        idx = g["shortage_index"]
        shown = "/".join("–" if v is None else f"{v:g}" for v in (idx["2022"], idx["outlook"]))
        typer.echo(f"  {g['rank']:>2} {occ:<40} {g['kommun']['name'][:16]:<16} "
                   f"{g['participants']:>5} {g['affected']:>5} {g['free_places_in_reach']:>5} "
                   f"{g['shortfall']:>5} {shown:>7}")
        for c in g["call_list"][:3]:
            typer.echo(f"       ring: {c['employer']['name']} ({c['closeness']} siffror lika, "
                       f"{c['participants_in_reach']} inom räckhåll, {c['nearest_km']} km)")
    typer.echo("Delt.: väntande som önskar yrket; Utan: utan plats; Plats: lediga platser "
               "inom räckhåll; Brist: efterfrågan (de utan bra förslag räknas dubbelt) minus "
               "platser; Index: bristindex 2022/fem år.")

