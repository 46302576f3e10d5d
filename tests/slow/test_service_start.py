"""The README's first command, end to end: migrate, seed the demo world if empty, serve, and
answer with the printed token. Runs the real console script in subprocesses."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent / "matchning"
TOKEN_RE = re.compile(r"\bmt_[A-Za-z0-9_-]{20,}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_init_demo_serve(tmp_path: Path) -> None:
    env = {**os.environ, "MATCHNING_DATA_DIR": str(tmp_path / "data"),
           "MATCHNING_MODELS_DIR": str(tmp_path / "models")}
    env.pop("MATCHNING_DATABASE_URL", None)
    _run(["init-db"], env)
    first = _run(["demo", "--if-empty", "--participants", "300", "--employers", "80",
                  "--slots", "200", "--months", "12"], env)
    tokens = TOKEN_RE.findall(first)
    assert tokens, first
    again = _run(["demo", "--if-empty"], env)  # idempotent: nothing seeded, a token printed
    assert "redan data" in again and TOKEN_RE.search(again), again
    trained = _run(["train", "--if-none"], env)
    assert "aktiverad" in trained, trained
    assert "redan aktiv" in _run(["train", "--if-none"], env)  # idempotent like `make run`

    port = _free_port()
    server = subprocess.Popen([str(BIN), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the service did not become ready")
        consultant = TOKEN_RE.search(again).group(0)
        r = httpx.get(f"{base}/api/v1/participants", params={"limit": 5},
                      headers={"Authorization": f"Bearer {consultant}"})
        assert r.status_code == 200, r.text
        assert r.json()["total"] > 0
        waiting = httpx.get(f"{base}/api/v1/participants",
                            params={"status": "väntande", "limit": 1},
                            headers={"Authorization": f"Bearer {consultant}"}).json()["items"]
        r = httpx.get(f"{base}/api/v1/participants/{waiting[0]['id']}/recommendations",
                      params={"k": 5}, headers={"Authorization": f"Bearer {consultant}"})
        assert r.status_code == 200, r.text
        assert r.json()["model_version"] and len(r.json()["items"]) > 0
        assert httpx.get(f"{base}/docs").status_code == 200
        assert httpx.get(f"{base}/api/v1/participants").status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
