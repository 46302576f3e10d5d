"""What every command needs: settings, an engine, a unit of work acting as the system."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

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
    finally:
        engine.dispose()


def fail(exc: MatchningError) -> None:
    """Print a domain error the way the API would, and exit 1."""
    typer.echo(f"Fel: {exc.message}", err=True)
    for d in exc.details:
        typer.echo(f"  - {d.get('field', '')}: {d.get('message', '')}", err=True)
    raise typer.Exit(1)


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))
