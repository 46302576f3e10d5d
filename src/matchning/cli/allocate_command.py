"""`matchning allocate`: a capacity-aware plan for one unit's waiting participants."""

from __future__ import annotations

import typer

from matchning.cli.common import echo_json, fail, system_context
from matchning.errors import MatchningError


def _pairs(values: list[str] | None, option: str) -> list[tuple[int, int]]:
    out = []
    for v in values or []:
        a, _, b = v.partition(":")
        if not (a.strip().isdigit() and b.strip().isdigit()):
            typer.echo(f"Fel: {option} skrivs DELTAGARE:PLATS med interna id, t.ex. 12:345 "
                       f"(fick {v!r}).", err=True)
            raise typer.Exit(1)
        out.append((int(a), int(b)))
    return out


def register(app: typer.Typer) -> None:
    @app.command()
    def allocate(
        unit: str = typer.Option(..., "--unit", help="Enhetens interna eller externa id"),
        method: str = typer.Option("exact", "--method", help="exact eller ot"),
        fairness_floor: float = typer.Option(
            None, "--fairness-floor",
            help="Ingen målgrupps medelchans under denna andel av den bästa gruppens (exact)"),
        pin: list[str] = typer.Option(None, "--pin", help="Låst par DELTAGARE:PLATS (flera)"),
        exclude: list[str] = typer.Option(None, "--exclude",
                                          help="Uteslutet par DELTAGARE:PLATS (flera)"),
        per_participant: int = typer.Option(30, "--per-participant", min=1, max=100,
                                            help="Kandidatplatser per deltagare"),
        as_json: bool = typer.Option(False, "--json", help="Ett JSON-objekt"),
    ) -> None:
        """Store a plan for the unit: each waiting participant at most one slot, each slot at
        most its free places, the most expected completed placements (advice for the
        consultants, who accept or override each pair)."""
        from matchning.services import allocation, precompute
        from matchning.services.matcher import Matcher

        options = allocation.PlanOptions(
            method=method, fairness_floor=fairness_floor, pinned=_pairs(pin, "--pin"),
            excluded=_pairs(exclude, "--exclude"), per_participant=per_participant)
        try:
            with system_context() as ctx:
                ctx.matcher = Matcher(ctx.settings.models_dir)
                view = allocation.create_plan(ctx, precompute.unit_id_of(ctx, unit), options)
                plan = view.plan
                out = {"plan_id": plan.id, "unit_id": plan.unit_id,
                       "model_version": plan.model_version, "method": plan.method,
                       "options": plan.options, "inputs": plan.inputs,
                       "pairs": [{"participant_id": p.row.participant_id,
                                  "slot_id": p.row.slot_id, "score": round(p.row.score, 4),
                                  "pinned": p.row.pinned} for p in view.pairs]}
        except MatchningError as exc:
            fail(exc)
        if as_json:
            echo_json(out)
            return
        i = out["inputs"]
        typer.echo(f"Plan {out['plan_id']} ({out['method']}, modell {out['model_version']}): "
                   f"{i['placed']} av {i['participants']} väntande deltagare får ett förslag; "
                   f"{i['free_places']} lediga platser på {i['slots']} praktikplatser.")
        typer.echo(f"Förväntat antal fullföljda placeringar: {i['expected_completions']:.2f} "
                   f"(löst på {i['seconds']:.2f} s).")
        typer.echo("Konsulenterna godtar eller väljer bort varje par på sidan Fördelning.")
