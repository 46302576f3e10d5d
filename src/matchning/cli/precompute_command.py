"""`matchning precompute`: store the top k for every waiting participant (nightly lists)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from matchning.cli.common import echo_json, fail, system_context
from matchning.errors import MatchningError

if TYPE_CHECKING:  # the services and the model load only when the command runs
    from matchning.services.precompute import PrecomputeResult

MAX_K = 100


def register(app: typer.Typer) -> None:
    @app.command()
    def precompute(
        unit: str = typer.Option(None, "--unit",
                                 help="Enhetens interna eller externa id (utan: alla enheter)"),
        k: int = typer.Option(10, "--k", min=1, max=MAX_K, help="Antal förslag per deltagare"),
        jobs: int = typer.Option(1, "--jobs", min=-1,
                                 help="Lokala processer (-1: alla kärnor); gäller inte när "
                                      "MATCHNING_DASK_SCHEDULER är satt"),
        as_json: bool = typer.Option(False, "--json", help="Ett JSON-objekt"),
    ) -> None:
        """The top k slots of every waiting participant, stored with the model version
        (replaces the earlier lists of the unit, or of every unit)."""
        from matchning.services import precompute as service
        from matchning.services.matcher import Matcher

        try:
            with system_context() as ctx:
                ctx.matcher = Matcher(ctx.settings.models_dir)
                unit_id = service.unit_id_of(ctx, unit) if unit is not None else None
                result = service.precompute(ctx, unit_id, k, n_jobs=jobs)
        except MatchningError as exc:
            fail(exc)
        if as_json:
            echo_json(_as_dict(result))
            return
        _print(result)


def _as_dict(result: PrecomputeResult) -> dict:
    return {"model_version": result.model_version,
            "computed_at": result.computed_at.isoformat(timespec="seconds"),
            "k": result.k, "backend": result.backend, "seconds": round(result.seconds, 2),
            "participants": result.participants, "rows": result.rows,
            "units": [vars(u) for u in result.units]}


def _print(result: PrecomputeResult) -> None:
    rate = result.participants / result.seconds if result.seconds > 0 else 0.0
    typer.echo(f"Modellversion {result.model_version}, topp {result.k}, beräknat "
               f"{result.computed_at:%Y-%m-%d %H:%M} UTC ({result.backend}).")
    typer.echo(f"  {'Enhet':<34} {'Väntande':>9} {'Förslag':>9}")
    for u in result.units:
        typer.echo(f"  {u.name[:34]:<34} {u.participants:>9} {u.rows:>9}")
    typer.echo(f"{result.participants} deltagare på {result.seconds:.1f} s "
               f"({rate:.0f} deltagare/s); tidigare listor ersatta.")
