"""The mixed load script's short mode (issue 7, load): `benchmarks/load_mixed.py` for 30 s
against `matchning serve` with 2 workers on a PostgreSQL database of the test's own. The
script itself checks every write against the database (no 5xx, nothing lost or duplicated,
no slot over capacity) and exits 1 on any problem; the full 5-minute run is the same command
with `--duration 300` (docs/security.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.slow.lifecycle_helpers import World
from tests.slow.server_helpers import free_port

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load_mixed.py"
TYPES = {"suggest", "slot_create", "slot_edit", "propose", "accept"}


def test_mixed_load_short(pg_world: tuple[World, Engine], tmp_path: Path) -> None:
    world, _ = pg_world
    out = tmp_path / "load_mixed.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--database-url", world.db_url, "--models-dir",
         str(world.models_dir), "--workers", "2", "--users", "6", "--duration", "30",
         "--port", str(free_port()), "--out", str(out)],
        env=world.env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["ok"] and result["problems"] == [], result["problems"]
    assert result["workers"] == 2 and 25 <= result["duration_s"] <= 60
    rows = {r["type"]: r for r in result["types"]}
    assert set(rows) >= TYPES, rows  # every kind of traffic was sent ...
    assert all(r["errors"] == 0 and r["ok"] > 0 for r in rows.values() if r["type"] in TYPES)
    checked = result["writes_checked"]  # ... and its writes were checked
    assert checked["slots"] > 0 and checked["placements"] > 0 and checked["status changes"] > 0
    assert "OK: no 5xx, no lost or duplicated write" in done.stdout
