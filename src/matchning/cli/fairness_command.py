"""`matchning fairness`: results per target group, gender, age band and Swedish level."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from matchning.cli.common import echo_json, fail, system_context
from matchning.errors import MatchningError

if TYPE_CHECKING:  # the services and the model load only when the command runs
    from matchning.services.fairness import FairnessReport

METRIC_HEADS = {"feasible_share": "≥k förslag", "top_score": "Toppoäng",
                "completion_rate": "Fullföljt", "work_studies_rate": "Arbete/studier"}


def register(app: typer.Typer) -> None:
    @app.command()
    def fairness(
        unit: str = typer.Option(None, "--unit",
                                 help="Enhetens interna eller externa id (utan: alla enheter)"),
        k: int = typer.Option(3, "--k", min=1, max=20,
                              help="Antal möjliga förslag en deltagare minst ska ha"),
        threshold: float = typer.Option(0.8, "--threshold", min=0.01, max=1.0,
                                        help="Flagga grupper under denna kvot mot bästa grupp"),
        as_json: bool = typer.Option(False, "--json", help="Ett JSON-objekt"),
    ) -> None:
        """Results per group against the best group, flagged below the threshold (rates of
        groups under 5 are withheld)."""
        from matchning.services import fairness as service
        from matchning.services.matcher import Matcher
        from matchning.services.precompute import unit_id_of

        try:
            with system_context() as ctx:
                ctx.matcher = Matcher(ctx.settings.models_dir)
                unit_id = unit_id_of(ctx, unit) if unit is not None else None
                report = service.report(ctx, unit_id, k, threshold)
        except MatchningError as exc:
            fail(exc)
        if as_json:
            echo_json(service.as_json(report))
            return
        _print(report)


def _cell(value: float | None, ratio: float | None, mark: str) -> str:
    if value is None:
        return "–"
    return f"{value:.2f} ({ratio:.2f}){mark}" if ratio is not None else f"{value:.2f}"


def _print(report: FairnessReport) -> None:
    from matchning.ml.fairness import DIMENSIONS

    names = ", ".join(n for _, n in report.units) or "inga enheter"
    typer.echo(f"Rättviserapport för {names}: {report.waiting} väntande deltagare, "
               f"{report.placements} avslutade placeringar.")
    typer.echo(f"Förslag: {report.source}"
               + (f" (modell {report.model_version})" if report.model_version else "")
               + f"; k = {report.k}, tröskel {report.threshold:.2f} av bästa grupp; "
               f"grupper under {report.min_group} visas utan andelar.")
    typer.echo("Cell: värde (kvot mot bästa grupp); * flaggad, ? under tröskeln men osäker.")
    for dim, label in DIMENSIONS.items():
        typer.echo(f"\n{label}")
        typer.echo(f"  {'Grupp':<20} {'Vänt.':>5} {'Plac.':>5} "
                   + " ".join(f"{h:>16}" for h in METRIC_HEADS.values()))
        for g in (g for g in report.groups if g.dimension == dim):
            cells = [_cell(g.values.get(m), g.ratios.get(m),
                           "*" if m in g.flagged else "?" if m in g.uncertain else "")
                     for m in METRIC_HEADS]
            typer.echo(f"  {g.group[:20]:<20} {g.waiting:>5} {g.placements:>5} "
                       + " ".join(f"{c:>16}" for c in cells))
    flagged = report.flagged
    typer.echo("\nFlaggade: " + ("; ".join(
        f"{DIMENSIONS[g.dimension]} {g.group} ({', '.join(METRIC_HEADS[m] for m in g.flagged)})"
        for g in flagged) if flagged else "inga."))
