"""Helpers for the fault tests that run a real `matchning serve`: a PostgreSQL database of the
test's own (copied from a seeded template), the server in a subprocess with N workers, and
logins of the demo users through the API and the pages."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, make_url, text

from matchning.storage.db import make_engine
from tests.slow.lifecycle_helpers import IN_CI, World, require_postgres

API = "/api/v1"
PASSWORDS = {"consultant": "demo-konsulent", "employer": "demo-arbetsgivare",
             "unit_admin": "demo-enhetsadmin", "system_admin": "demo-systemadmin"}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- databases of our own -------------------------------------------------------------------

def _admin() -> Engine:
    return make_engine(require_postgres()).execution_options(isolation_level="AUTOCOMMIT")


def database_url(name: str, *, port: int | None = None) -> str:
    url = make_url(require_postgres()).set(database=name)
    if port is not None:
        url = url.set(host="127.0.0.1", port=port)
    return url.render_as_string(hide_password=False)


@contextmanager
def own_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A new database (a copy of `template` when given) with a unique name; dropped after.
    The shared test database is never touched."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'
                              + (f' TEMPLATE "{template}"' if template else "")))
    except Exception as exc:
        admin.dispose()
        if IN_CI:
            raise
        import pytest
        pytest.skip(f"PostgreSQL: cannot create a database ({type(exc).__name__})")
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the server -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def worker_pids(self) -> list[int]:
        """uvicorn's worker processes (its children that are not the resource tracker)."""
        kids = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(p) for p in kids.read_text().split()] if kids.exists() else []
        return [p for p in pids if "resource_tracker" not in _cmdline(p)]

    def connections_per_worker(self) -> dict[int, int]:
        """Established connections on the server's port held by each worker (from /proc)."""
        port = int(self.url.rsplit(":", 1)[1])
        inodes = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":  # ESTABLISHED
                inodes.add(fields[9])
        return {pid: sum(link == f"socket:[{i}]" for link in _fd_links(pid) for i in inodes)
                for pid in self.worker_pids()}

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kw)


def _fd_links(pid: int) -> list[str]:
    out = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            out.append(os.readlink(fd))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@contextmanager
def serve(world: World, url: str | None, *, workers: int = 1, log: str = "serve.log",
          **extra: Any) -> Iterator[Server]:
    """`matchning serve` on `url` until the block ends (SIGTERM, then SIGKILL)."""
    port = free_port()
    proc, path = world.popen("serve", log=log, url=url, workers=workers, port=port,
                             secret_key="faults-secret-key", **extra)
    server = Server(f"http://127.0.0.1:{port}", proc, path)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"matchning serve did not start:\n{path.read_text()}")
            time.sleep(0.3)
        while workers > 1 and len(server.worker_pids()) < workers:
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def api_token(server: Server, email: str, role: str) -> dict[str, str]:
    """Bearer headers of a demo user, logged in through the API."""
    r = httpx.post(f"{server.url}{API}/auth/token", timeout=30,
                   json={"email": email, "password": PASSWORDS[role]})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "the page has no CSRF field"
    return m.group(1)


def page_login(server: Server, email: str, role: str) -> httpx.Client:
    """A client with a page session (cookie) of a demo user."""
    c = server.client(follow_redirects=False)
    page = c.get("/logga-in")
    assert page.status_code == 200, page.text
    r = c.post("/logga-in", data={"email": email, "password": PASSWORDS[role],
                                  "csrf_token": csrf_of(page.text), "next": "/"})
    assert r.status_code == 303, r.text
    return c
