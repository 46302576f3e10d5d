"""Starting `matchning serve` for the HTTP benchmarks, and the tokens they call it with."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.domain.vocab import Role
from matchning.services import users
from matchning.services.context import Context
from matchning.storage.db import unit_of_work
from matchning.storage.tables import UnitRow, UserRow

API = "/api/v1"


def consultant_tokens(factory: sessionmaker[Session], settings: Settings) -> dict[int, str]:
    """A fresh bearer token of one consultant per unit (written to the benchmark's world)."""
    out = {}
    with unit_of_work(factory) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=settings)
        for unit_id in session.scalars(select(UnitRow.id).order_by(UnitRow.id)):
            user = session.scalars(select(UserRow).where(
                UserRow.unit_id == unit_id, UserRow.role == Role.consultant.value)
                .order_by(UserRow.id)).first()
            if user is not None:
                out[unit_id] = users.issue_token(ctx, user.id, "benchmark").token
    return out


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's children, or itself when alone."""
        kids = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(p) for p in kids.read_text().split()] if kids.exists() else []
        # uvicorn's multiprocess supervisor also starts a resource tracker: not a worker.
        workers = [p for p in pids if "multiprocessing" not in _cmdline(p)
                   or "spawn_main" in _cmdline(p)]
        return workers or [self.process.pid]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    kb = lambda k: int(fields.get(k, "0 kB").split()[0]) / 1024  # noqa: E731
    return kb("VmRSS"), kb("VmHWM")


def get(url: str, token: str | None = None, timeout: float = 600) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}
                                 if token else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@contextmanager
def serve(database_url: str, models_dir: Path, workers: int, port: int,
          log: Path | None = None, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`matchning serve` with `workers`, until the block ends (SIGTERM, then SIGKILL)."""
    environ = {**os.environ, "MATCHNING_DATABASE_URL": database_url,
               "MATCHNING_MODELS_DIR": str(models_dir), "MATCHNING_WORKERS": str(workers),
               "MATCHNING_PORT": str(port), "MATCHNING_LOG_LEVEL": "WARNING",
               "MATCHNING_SECRET_KEY": os.environ.get("MATCHNING_SECRET_KEY",
                                                      "benchmark-secret-key"),
               **(env or {})}
    out = log.open("w") if log else subprocess.DEVNULL
    cli = Path(sys.executable).parent / "matchning"  # the venv's console script
    process = subprocess.Popen([str(cli), "serve"], env=environ, stdout=out,
                               stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if get(server.url + "/health", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"matchning serve did not start (see {log})")
            time.sleep(0.5)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]
