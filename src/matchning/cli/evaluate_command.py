"""`matchning evaluate`: the model against the baselines on the current database."""

from __future__ import annotations

from pathlib import Path

import typer

from matchning.cli.common import echo_json, fail, system_context
from matchning.errors import MatchningError


def register(app: typer.Typer) -> None:
    @app.command()
    def evaluate(
        json_out: bool = typer.Option(False, "--json", help="Skriv ett JSON-objekt"),
        truth: Path = typer.Option(None, help="Demogeneratorns fil med sanna sannolikheter"),
        out: Path = typer.Option(Path("reports"), help="Katalog för rapporten (JSON, "
                                                       "Markdown, diagram)"),
        lightfm: bool = typer.Option(True, "--lightfm/--no-lightfm",
                                     help="Ta med LightFM-baslinjen"),
        seed: int = typer.Option(0),
        allocation: bool = typer.Option(
            False, "--allocation", help="Fördelningsmetoderna mot de sanna sannolikheterna "
                                        "(kräver --truth och en aktiv modell; "
                                        "docs/allocation.md)"),
        unit: str = typer.Option(None, "--unit", help="Enheten för --allocation "
                                                      "(standard: den första)"),
    ) -> None:
        """Time-based evaluation: the model and the baselines side by side (docs/evaluation.md)."""
        from matchning.ml.report import write_report
        from matchning.services import evaluation

        if truth is not None and not truth.is_file():
            typer.echo(f"Fel: filen {truth} finns inte.", err=True)
            raise typer.Exit(1)
        if allocation:
            from matchning.cli.allocation_report import run_allocation_evaluation
            run_allocation_evaluation(truth, unit, out, seed, json_out)
            return
        try:
            with system_context() as ctx:
                result, reliability = evaluation.run(ctx, truth_path=truth,
                                                     with_lightfm=lightfm, seed=seed)
        except MatchningError as exc:
            fail(exc)
        json_path, md_path = write_report(result, out, reliability)
        if json_out:
            echo_json(result)
            return
        typer.echo(f"Delning: träning t.o.m. {result['split']['train_until']}, test "
                   f"{result['split']['test_from']}–{result['split']['test_to']} "
                   f"({result['split']['test_queries']} frågor)")
        typer.echo(f"{'system':<22}{'ndcg@10':>9}{'recall@10':>11}{'mrr':>7}"
                   f"{'regelbrott':>12}{'täckning':>10}")
        for s in result["systems"]:
            typer.echo(f"{s['system']:<22}{_f(s['ndcg@10']):>9}{_f(s['recall@10']):>11}"
                       f"{_f(s['mrr']):>7}{s['rule_violations']:>12}{_f(s['coverage']):>10}")
        if result.get("truth"):
            typer.echo("Mot de sanna sannolikheterna (väntande deltagare):")
            for s in result["truth"]["systems"]:
                typer.echo(f"  {s['system']:<22} ndcg@10 {_f(s['ndcg@10'])}  "
                           f"medel-p@10 {_f(s['mean_p@10'])}")
        typer.echo(f"Rapport: {md_path} och {json_path}")


def _f(v) -> str:
    return "–" if v is None else f"{v:.3f}"
