"""`train` and `recommend`: fit a model version from the history, and ask it for suggestions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from matchning.cli.common import echo_json, fail, system_context
from matchning.errors import InvalidInput, MatchningError
from matchning.services.context import Context

if TYPE_CHECKING:  # the services and the model load only when a command runs
    from matchning.services.recommendations import Suggestions

MAX_K = 100


def register(app: typer.Typer) -> None:
    @app.command()
    def train(as_json: bool = typer.Option(False, "--json", help="Ett JSON-objekt"),
              if_none: bool = typer.Option(False, "--if-none",
                                           help="Gör inget om en modell redan är aktiv")
              ) -> None:
        """Train a model version on the whole history; it becomes active if none is."""
        from matchning.services import training

        try:
            with system_context() as ctx:
                active = training.active_version(ctx)
                if if_none and active is not None:
                    typer.echo(f"Modellversion {active} är redan aktiv; ingen ny träning.")
                    return
                result = training.train(ctx)
        except MatchningError as exc:
            fail(exc)
        info = result.info
        if as_json:
            echo_json({"version": result.version, "activated": result.activated,
                       "estimator": info["estimator"], "validation": info["validation"],
                       "training_window": info["training_window"], "rows": info["rows"]})
            return
        typer.echo(f"Modellversion {result.version} sparad "
                   + ("och aktiverad." if result.activated
                      else "(inte aktiverad: en annan version är redan aktiv)."))
        window = info["training_window"]
        rows = info["rows"]
        typer.echo(f"Träningsdata {window['from']} – {window['to']}: {rows['rows']} rader "
                   f"({rows['positives']} lyckade; {rows['placements']} placeringar, "
                   f"{rows['feedback']} \"passar inte\")")
        typer.echo(f"Vald modell: {info['estimator']}")
        typer.echo("Validering på den senaste femtedelen av historiken:")
        for name, m in info["validation"].items():
            auc = "–" if m["auc"] is None else f"{m['auc']:.3f}"
            mark = "*" if name == info["estimator"] else " "
            typer.echo(f" {mark} {name:<22} log loss {m['log_loss']:.3f}  "
                       f"Brier {m['brier']:.3f}  AUC {auc}")

    @app.command()
    def recommend(
        ids: list[str] = typer.Argument(..., help="Deltagarens interna id eller externa id"),
        k: int = typer.Option(10, "--k", min=1, max=MAX_K, help="Antal förslag per deltagare"),
        as_json: bool = typer.Option(False, "--json", help="En JSON-rad per deltagare"),
    ) -> None:
        """The best open slots for one or more participants (the model loads once)."""
        from matchning.services import recommendations
        from matchning.services.matcher import Matcher

        try:
            with system_context() as ctx:
                resolved = _resolve_all(ctx, ids)
                ctx.matcher = Matcher(ctx.settings.models_dir)
                for given, pid in zip(ids, resolved, strict=True):
                    found = recommendations.recommend(ctx, pid, k)
                    if as_json:
                        echo_json({"participant_id": given,
                                   "model_version": found.model_version,
                                   "slot_ids": [_slot_ref(i) for i in found.items],
                                   "items": found.items})
                    else:
                        _print_table(given, pid, found)
        except MatchningError as exc:
            fail(exc)


def _resolve_all(ctx: Context, ids: list[str]) -> list[int]:
    """Every id as an internal participant id; all problems are reported before any output."""
    out: list[int] = []
    problems: list[dict[str, Any]] = []
    for ident in ids:
        pid, problem = _participant_id(ctx, ident)
        if pid is None:
            problems.append({"field": ident, "message": problem})
        else:
            out.append(pid)
    if problems:
        raise InvalidInput("Några deltagare kunde inte hittas; inga förslag har tagits fram.",
                           details=problems)
    return out


def _participant_id(ctx: Context, ident: str) -> tuple[int | None, str]:
    """An internal id when a participant has it, else an external id unique to one unit."""
    from matchning.storage.repositories import people
    from matchning.storage.tables import ParticipantRow

    if ident.isdigit() and ctx.session.get(ParticipantRow, int(ident)) is not None:
        return int(ident), ""
    found = people.participants_with_external_id(ctx.session, ident)
    if not found:
        return None, "ingen deltagare har det id:t (varken internt eller externt)"
    if len(found) > 1:
        return None, ("flera enheter har en deltagare med det externa id:t; "
                      "ange det interna id:t i stället")
    return found[0].id, ""


def _slot_ref(item: dict[str, Any]) -> str | int:
    slot = item["slot"]
    return slot["external_id"] or slot["id"]


def _print_table(given: str, pid: int, found: Suggestions) -> None:
    who = given if given == str(pid) else f"{given} (id {pid})"
    typer.echo(f"Deltagare {who} – modell {found.model_version}, {found.feasible} av "
               f"{found.considered} öppna platser klarar reglerna")
    if not found.items:
        typer.echo("  Inga platser att föreslå just nu.")
        return
    typer.echo(f"  {'#':>2}  {'Poäng':>5}  {'Plats-id':<14} {'Titel':<34} {'Arbetsgivare':<26} "
               f"{'Kommun':<14} {'Avstånd':>8}")
    for i in found.items:
        typer.echo(f"  {i['rank']:>2}  {i['score']:>5.2f}  {str(_slot_ref(i))[:14]:<14} "
                   f"{i['slot']['title'][:34]:<34} {i['employer']['name'][:26]:<26} "
                   f"{i['kommun']['name'][:14]:<14} {i['distance_km']:>5.1f} km")
