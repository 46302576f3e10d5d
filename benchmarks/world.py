"""What the benchmark scripts share: the arguments that name a seeded world and its models,
the services' clock pinned to the world's last day, and percentiles."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from matchning.config import Settings
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.storage.db import make_engine, make_session_factory


def parser(doc: str, out: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--models-dir", type=Path, required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--today", type=date.fromisoformat, default=None,
                    help="the services' clock (the demo world's last day)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(out))
    return ap


@dataclass
class World:
    engine: Engine
    factory: sessionmaker[Session]
    settings: Settings
    matcher: Matcher


def open_world(args: argparse.Namespace) -> World:
    """The database and models of `args`; with --today the services' clock stands still on
    that day (the world's slot periods are relative to its own last day)."""
    if args.today is not None:
        day = args.today
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        Context.today = property(lambda self: day)  # type: ignore[method-assign]
        Context.now = staticmethod(lambda: noon)  # type: ignore[method-assign]
    engine = make_engine(args.database_url)
    return World(engine, make_session_factory(engine),
                 Settings(database_url=args.database_url, models_dir=args.models_dir),
                 Matcher(args.models_dir))


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {f"p{q}": round(float(np.percentile(a, q)), 2) for q in (50, 95, 99)}
