"""`init-db` and `serve`."""

from __future__ import annotations

import logging
import multiprocessing

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from matchning.cli import listeners
from matchning.cli.common import settings
from matchning.storage import migrate
from matchning.storage.db import engine_from_settings

APP = "matchning.api.app:create_app"


def register(app: typer.Typer) -> None:
    @app.command("init-db")
    def init_db() -> None:
        """Create or migrate the database schema to the latest version."""
        s = settings()
        engine = engine_from_settings(s)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        typer.echo(f"Databasen är migrerad: {engine.url.render_as_string(hide_password=True)}")

    @app.command()
    def serve(host: str = typer.Option(None, help="Standard: MATCHNING_HOST"),
              port: int = typer.Option(None, help="Standard: MATCHNING_PORT"),
              workers: int = typer.Option(None, help="Standard: MATCHNING_WORKERS"),
              reload: bool = typer.Option(False, help="Ladda om vid kodändring (utveckling)"),
              ) -> None:
        """Start the API and pages with uvicorn."""
        s = settings()
        options = {"host": host or s.host, "port": port or s.port,
                   "workers": workers or s.workers, "log_level": s.log_level.lower()}
        if options["workers"] > 1 and not reload and listeners.REUSE_PORT:
            _serve_workers(**options)
        else:
            uvicorn.run(APP, factory=True, reload=reload, **options)


def _serve_workers(*, host: str, port: int, workers: int, log_level: str) -> None:
    """Several workers, each accepting on a socket of its own (cli/listeners.py)."""
    config = uvicorn.Config(APP, factory=True, host=host, port=port, workers=workers,
                            log_level=log_level)
    try:  # the port is free (or ours to share): say so now, not in every worker
        listeners.bind(host, port).close()
    except OSError as exc:
        typer.echo(f"Kan inte lyssna på {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from exc
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d with %d workers, a socket each", host, port, workers)
    loads = multiprocessing.get_context("spawn").Array("q", 2 * workers)
    Multiprocess(config, sockets=[listeners.ReusePortListener(host, port, loads)]).run()
