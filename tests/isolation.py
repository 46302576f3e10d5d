"""One connection per test, rolled back afterwards, for modules that share a trained world.

The app's requests and the test's own session both run on the connection (savepoints stand in
for their commits), and the app gets a fresh Matcher before and after, so no cache outlives
the test's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from matchning.config import Settings
from matchning.services.matcher import Matcher


@contextmanager
def rolled_back(app: Any, engine: Engine, settings: Settings, real_factory: Any
                ) -> Iterator[Session]:
    """A session on a connection whose transaction is rolled back when the block ends; the
    app's session factory points at the same connection meanwhile."""
    conn = engine.connect()
    outer = conn.begin()
    factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint",
                           expire_on_commit=False, autoflush=True)
    app.state.session_factory = factory
    app.state.matcher = Matcher(settings.models_dir)
    session = factory()
    try:
        yield session
    finally:
        session.close()
        app.state.session_factory = real_factory
        app.state.matcher = Matcher(settings.models_dir)
        outer.rollback()
        conn.close()
