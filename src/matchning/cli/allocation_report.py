"""`matchning evaluate --allocation`: run the allocation evaluation and print its tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from matchning.cli.common import echo_json, fail, system_context
from matchning.errors import MatchningError

SCENARIOS = {"as_is": "Världen som den är", "congested": "Trängsel (färre platser än deltagare)"}
METHODS = {"top1": "oberoende topp 1", "spread_top1": "oberoende topp 1, spridd",
           "greedy": "girig efter poäng", "exact": "exakt optimum",
           "ot": "optimal transport"}


def run_allocation_evaluation(truth: Path | None, unit: str | None, out: Path, seed: int,
                              json_out: bool) -> None:
    from matchning.services import allocation_eval, precompute
    from matchning.services.matcher import Matcher

    if truth is None:
        typer.echo("Fel: --allocation kräver --truth (demogeneratorns fil med sanna "
                   "sannolikheter).", err=True)
        raise typer.Exit(1)
    try:
        with system_context() as ctx:
            ctx.matcher = Matcher(ctx.settings.models_dir)
            unit_id = precompute.unit_id_of(ctx, unit) if unit is not None else None
            result = allocation_eval.evaluate(ctx, truth, unit_id=unit_id, seed=seed)
            ctx.session.rollback()  # reads only
    except MatchningError as exc:
        fail(exc)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "allocation.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if json_out:
        echo_json(result)
        return
    typer.echo(markdown(result))
    typer.echo(f"Rapport: {path}")


def markdown(result: dict[str, Any]) -> str:
    """The evaluation as Markdown tables (one per scenario)."""
    lines = []
    for name, sc in result["scenarios"].items():
        lines += [f"{SCENARIOS.get(name, name)}: {sc['participants']} väntande deltagare, "
                  f"{sc['places']} lediga platser på {sc['slots']} praktikplatser", "",
                  "| metod | förväntat fullföljda (sant p) | enligt modellen | fyllda platser "
                  "| utan förslag | medel-p per deltagare | tid (s) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for m in sc["methods"]:
            lines.append(f"| {METHODS.get(m['method'], m['method'])} | "
                         f"{m['expected_completions']:.2f} | {m['model_expected']:.2f} | "
                         f"{m['places_filled']} | {m['without_proposal']} | "
                         f"{m['mean_success']:.3f} | {m['seconds']:.3f} |")
        groups = sorted({g for m in sc["methods"] for g in m["groups"]})
        if groups:
            lines += ["", "| metod | " + " | ".join(groups) + " |",
                      "|---|" + "---:|" * len(groups)]
            for m in sc["methods"]:
                lines.append(f"| {METHODS.get(m['method'], m['method'])} | " + " | ".join(
                    f"{m['groups'].get(g, 0.0):.3f}" for g in groups) + " |")
        lines.append("")
    return "\n".join(lines)
