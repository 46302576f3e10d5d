"""`init-db` and `serve`."""

from __future__ import annotations

import typer
import uvicorn

from matchning.cli.common import settings
from matchning.storage import migrate
from matchning.storage.db import engine_from_settings


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
        uvicorn.run("matchning.api.app:create_app", factory=True, host=host or s.host,
                    port=port or s.port, workers=workers or s.workers, reload=reload,
                    log_level=s.log_level.lower())
