"""What every command needs: settings, an engine, a unit of work acting as the system."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from matchning import log_privacy
from matchning.config import Settings, get_settings
from matchning.domain.principal import SYSTEM
from matchning.errors import MatchningError
from matchning.services.context import Context
from matchning.storage.db import engine_from_settings, make_session_factory, unit_of_work


def settings() -> Settings:
    logging.basicConfig(level=get_settings().log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_privacy.install()
    return get_settings()


@contextmanager
def system_context() -> Iterator[Context]:
    """A committed-at-the-end unit of work acting with system rights (the CLI is the admin)."""
    s = settings()
    engine = engine_from_settings(s)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield Context(session=session, principal=SYSTEM, settings=s)
    except DBAPIError as exc:  # the commit or a statement failed: rolled back, say so
        database_failed(exc)
    finally:
        engine.dispose()


def database_failed(exc: DBAPIError) -> None:
    """Print a database failure the way the API would (no SQL, no values), and exit 1."""
    if isinstance(exc, IntegrityError):
        message = "Uppgiften krockar med något som redan finns sparat."
    elif isinstance(exc, OperationalError):
        message = "Databasen svarar inte just nu; försök igen om en stund."
    else:
        message = "Ett databasfel inträffade."
    typer.echo(f"Fel: {message} Inget har sparats. ({type(exc.orig).__name__})", err=True)
    raise typer.Exit(1)


def fail(exc: MatchningError) -> None:
    """Print a domain error the way the API would, and exit 1."""
    typer.echo(f"Fel: {exc.message}", err=True)
    for d in exc.details:
        typer.echo(f"  - {d.get('field', '')}: {d.get('message', '')}", err=True)
    raise typer.Exit(1)


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))
