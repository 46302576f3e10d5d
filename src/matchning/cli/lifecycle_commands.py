"""`retrain`, `scheduler` and `models list|show|promote|rollback|runs`."""

from __future__ import annotations

from typing import Any

import typer

from matchning.cli.common import echo_json, fail, settings, system_context
from matchning.errors import MatchningError

models_app = typer.Typer(help="Modellversioner: lista, visa, aktivera, gå tillbaka.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")

    @app.command()
    def retrain(as_json: bool = typer.Option(False, "--json", help="Ett JSON-objekt")) -> None:
        """The gated cycle once: evaluate, train, save, promote only if it passes the gate."""
        from matchning.services import retraining
        from matchning.storage.db import engine_from_settings, make_session_factory

        s = settings()
        engine = engine_from_settings(s)
        try:
            out = retraining.retrain(make_session_factory(engine), engine, s, trigger="cli")
        except MatchningError as exc:
            fail(exc)
        except Exception as exc:  # recorded as a failed run by retrain itself; details logged
            typer.echo(f"Fel: omträningen misslyckades ({type(exc).__name__}: {exc}). "
                       "Körningen är registrerad som misslyckad; den aktiva modellen är "
                       "oförändrad.", err=True)
            raise typer.Exit(1) from None
        finally:
            engine.dispose()
        if as_json:
            echo_json(vars(out))
            return
        verdict = {"promoted": "aktiverad", "rejected": "inte aktiverad"}[out.status]
        typer.echo(f"Körning {out.run_id}: version {out.candidate_version} {verdict} – "
                   f"{out.reason}")
        same = out.candidate_metrics.get("same_window")
        rows = [("kandidat", out.candidate_metrics), ("samma test", same),
                ("aktiv", out.active_metrics)]
        for name, m in rows:
            if m and "note" in m:
                typer.echo(f"  {name:<10} – {m['note']}")
            elif m:
                typer.echo(f"  {name:<10} " + "  ".join(f"{k} {_f(m.get(k))}" for k in
                                                        ("ndcg@10", "coverage", "ece")))

    @app.command()
    def scheduler() -> None:
        """Retrain on the schedule of MATCHNING_RETRAIN_CRON until SIGTERM."""
        from matchning.jobs.scheduler import run_scheduler

        run_scheduler(settings())


@models_app.command("list")
def list_models(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every saved version, newest first; * marks the active one."""
    from matchning.services import model_admin

    with system_context() as ctx:
        views = model_admin.list_versions(ctx)
    if as_json:
        echo_json([{**v.meta, "active": v.active} for v in views])
        return
    if not views:
        typer.echo("Inga sparade modellversioner.")
    for v in views:
        m = _model_row(v.meta)
        typer.echo(f"{'*' if v.active else ' '} {v.meta['version']}  {v.meta['created_at'][:19]}"
                   f"  {v.meta.get('estimator', '')}  NDCG@10 {_f(m.get('ndcg@10'))}")


@models_app.command("show")
def show_model(version: str) -> None:
    """A version's metadata as JSON."""
    from matchning.services import model_admin

    try:
        with system_context() as ctx:
            view = model_admin.show(ctx, version)
    except MatchningError as exc:
        fail(exc)
    echo_json({**view.meta, "active": view.active})


@models_app.command("promote")
def promote_model(version: str) -> None:
    """Make VERSION the active model (its files are checked first)."""
    from matchning.services import model_admin

    try:
        with system_context() as ctx:
            model_admin.promote(ctx, version)
    except MatchningError as exc:
        fail(exc)
    typer.echo(f"Modellversion {version} är nu aktiv.")


@models_app.command("rollback")
def rollback_model() -> None:
    """Back to the version that was active before the current one."""
    from matchning.services import model_admin

    try:
        with system_context() as ctx:
            view = model_admin.rollback(ctx)
    except MatchningError as exc:
        fail(exc)
    typer.echo(f"Tillbaka till modellversion {view.meta['version']}.")


@models_app.command("runs")
def list_runs(limit: int = typer.Option(20, min=1, max=500),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """The latest retrain runs with their outcome."""
    from matchning.services import model_admin

    with system_context() as ctx:
        rows = model_admin.runs(ctx, limit)
        data = [{"id": r.id, "status": r.status, "trigger": r.trigger,
                 "started_at": r.started_at, "finished_at": r.finished_at,
                 "candidate_version": r.candidate_version, "reason": r.reason} for r in rows]
    if as_json:
        echo_json(data)
        return
    for r in data:
        typer.echo(f"{r['id']:>5} {r['status']:<9} {r['trigger']:<9} "
                   f"{str(r['started_at'])[:19]}  {r['candidate_version'] or '–'}  "
                   f"{r['reason'] or ''}")


def _model_row(meta: dict[str, Any]) -> dict[str, Any]:
    systems = (meta.get("evaluation") or {}).get("systems") or []
    return next((s for s in systems if s.get("system") == "model"), {})


def _f(v) -> str:
    return "–" if v is None else f"{v:.3f}"
