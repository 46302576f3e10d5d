"""Fixtures shared by the slow fault tests that run a real server on PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from matchning.storage.db import make_engine
from tests.slow.lifecycle_helpers import World, require_postgres
from tests.slow.server_helpers import database_url, own_database


@pytest.fixture(scope="session")
def faults_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    """A seeded PostgreSQL database of our own (demo world + a trained model), seeded once
    and copied (CREATE DATABASE ... TEMPLATE) for each test that needs one."""
    require_postgres()
    with own_database("faults7_tpl") as name:
        world = World(tmp_path_factory.mktemp("faults") / "template", url=database_url(name))
        world.seed()
        yield name, world


@pytest.fixture
def pg_world(faults_template: tuple[str, World], tmp_path: Path
             ) -> Iterator[tuple[World, Engine]]:
    """A private copy of the template database and models; an engine that reads it directly."""
    name, seeded = faults_template
    with own_database("faults7", template=name) as db:
        world = World(tmp_path / "world", url=database_url(db))
        world.root.mkdir()
        shutil.copytree(seeded.models_dir, world.models_dir)
        engine = make_engine(world.db_url)
        try:
            yield world, engine
        finally:
            engine.dispose()
