"""The database goes away under a real `matchning serve` (issue 7, faults), done for real: the
server in a subprocess on PostgreSQL through a loopback TCP proxy the test cuts and restores
(the shared PostgreSQL server is never stopped), and a SQLite file held locked by another
process. While the database is away every request, read or write, API or page, answers 503
with a Swedish message; afterwards the same process serves again by itself; a write cut
mid-way is in the database either whole or not at all (read back directly, not through the
app)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, make_url, text

from matchning.storage.db import make_engine
from tests.slow.lifecycle_helpers import World, require_postgres
from tests.slow.server_helpers import (
    API,
    api_token,
    csrf_of,
    database_url,
    page_login,
    serve,
)
from tests.slow.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow

UNAVAILABLE = "Databasen svarar inte just nu"
CONSULTANT = "konsulent1-001@demo.example"


def _one(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _assert_503(r: httpx.Response, *, page: bool = False) -> None:
    assert r.status_code == 503, (r.status_code, r.text[:500])
    if page:
        assert "text/html" in r.headers["content-type"] and UNAVAILABLE in r.text, r.text[:500]
    else:
        err = r.json()["error"]
        assert err["code"] == "unavailable" and err["message"].startswith(UNAVAILABLE), err


def _employer(engine: Engine) -> tuple[str, int]:
    row = _rows(engine, "SELECT email, employer_id FROM users WHERE role = 'employer' "
                        "ORDER BY id LIMIT 1")[0]
    return row[0], row[1]


def _waiting(engine: Engine, n: int) -> list[int]:
    return [r[0] for r in _rows(engine, "SELECT id FROM participants WHERE status = 'väntande'"
                                        " AND unit_id = 1 ORDER BY id LIMIT :n", n=n)]


def _slot_form(employer_id: int, csrf: str, title: str) -> dict[str, str]:
    return {"csrf_token": csrf, "employer_id": str(employer_id), "title": title,
            "occupation": "5223", "capacity": "2", "description": "Kassa och påfyllning."}


def _slot_body(employer_id: int, ext: str, **kw: Any) -> dict[str, Any]:
    return {"employer_id": employer_id, "title": f"Butiksbiträde {ext}", "occupation_code":
            "5223", "kommunkod": "0180", "capacity": 2, "description": "Kassa.",
            "external_id": ext, **kw}


def _proxied(world: World) -> tuple[TcpProxy, str]:
    real = make_url(require_postgres())
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432))
    return proxy, database_url(make_url(world.db_url).database or "", port=proxy.port)


# 1 -------------------------------------------------------------------------------------------

def test_database_cut_and_restored_api_and_pages(pg_world: tuple[World, Engine]) -> None:
    world, db = pg_world
    proxy, via = _proxied(world)
    email, employer_id = _employer(db)
    person = _waiting(db, 1)[0]
    try:
        with serve(world, via) as server:
            consultant = api_token(server, CONSULTANT, "consultant")
            employer = api_token(server, email, "employer")
            page = page_login(server, CONSULTANT, "consultant")
            csrf = csrf_of(page.get("/platser/ny").text)
            api = server.client()
            assert api.get(f"{API}/participants", headers=consultant).status_code == 200
            rec = api.get(f"{API}/participants/{person}/recommendations",
                          headers=consultant)
            assert rec.status_code == 200 and rec.json()["items"], rec.text
            slot = rec.json()["items"][0]["slot"]["id"]

            proxy.cut()
            _assert_503(api.get(f"{API}/participants", headers=consultant))
            _assert_503(api.get(f"{API}/participants/{person}/recommendations",
                                headers=consultant))
            _assert_503(api.post(f"{API}/slots", json=_slot_body(employer_id, "cut-api"),
                                 headers=employer))
            _assert_503(api.post(f"{API}/placements", headers=consultant,
                                 json={"participant_id": person, "slot_id": slot}))
            _assert_503(page.get("/deltagare"), page=True)
            _assert_503(page.post("/platser/ny",
                                  data=_slot_form(employer_id, csrf, "Avskuren sida")),
                        page=True)
            assert proxy.refused >= 1  # the app did try to reach the database
            assert api.get("/health").status_code == 200  # the process itself is fine
            assert _one(db, "SELECT count(*) FROM slots WHERE external_id = 'cut-api' "
                            "OR title = 'Avskuren sida'") == 0
            assert _one(db, "SELECT count(*) FROM placements WHERE participant_id = :p AND "
                            "slot_id = :s", p=person, s=slot) == 0

            proxy.restore()
            # The very first requests after the restore succeed: no restart, no retry.
            assert api.get(f"{API}/participants", headers=consultant).status_code == 200
            r = api.post(f"{API}/slots", json=_slot_body(employer_id, "cut-api"),
                         headers=employer)
            assert r.status_code == 201, r.text
            r = page.post("/platser/ny", data=_slot_form(employer_id, csrf, "Avskuren sida"))
            assert r.status_code == 303, r.text
            assert page.get("/deltagare").status_code == 200
            r = api.post(f"{API}/placements", headers=consultant,
                         json={"participant_id": person, "slot_id": slot})
            assert r.status_code == 201, r.text
            assert server.process.poll() is None
            assert _one(db, "SELECT count(*) FROM slots WHERE external_id = 'cut-api' "
                            "OR title = 'Avskuren sida'") == 2
    finally:
        proxy.close()


# 2 -------------------------------------------------------------------------------------------

def _placement_state(db: Engine, person: int, slot: int) -> tuple[int, int, int]:
    """(placements, their events, their audit rows) of one participant on one slot."""
    ids = [r[0] for r in _rows(db, "SELECT id FROM placements WHERE participant_id = :p AND "
                                   "slot_id = :s", p=person, s=slot)]
    events = sum(_one(db, "SELECT count(*) FROM placement_events WHERE placement_id = :i",
                      i=i) for i in ids)
    audits = sum(_one(db, "SELECT count(*) FROM audit_log WHERE action = 'placement.propose' "
                          "AND detail->>'placement_id' = :i", i=str(i)) for i in ids)
    return len(ids), events, audits


def _slot_state(db: Engine, slot: int) -> tuple[str, int]:
    return _rows(db, "SELECT title, capacity FROM slots WHERE id = :s", s=slot)[0]


def test_a_write_cut_midway_is_whole_or_absent(pg_world: tuple[World, Engine]) -> None:
    """Six cuts at chosen points of two writes. Before COMMIT reaches the database (mid-way
    or at COMMIT itself) nothing is stored; when COMMIT ran but its answer was lost the write
    is there whole. Either way the client hears 503, never 2xx; the next request succeeds."""
    world, db = pg_world
    proxy, via = _proxied(world)
    email, employer_id = _employer(db)
    people = _waiting(db, 3)
    try:
        with serve(world, via) as server:
            consultant = api_token(server, CONSULTANT, "consultant")
            employer = api_token(server, email, "employer")
            api = server.client()
            r = api.post(f"{API}/slots", json=_slot_body(employer_id, "mid-1", capacity=3),
                         headers=employer)
            assert r.status_code == 201, r.text
            slot = r.json()["id"]

            def cut_at(pattern: bytes, forward: bool, send: Callable[[], httpx.Response]
                       ) -> None:
                proxy.trip_on(pattern, forward=forward)
                _assert_503(send())
                assert proxy.tripped.is_set(), f"{pattern!r} never went by"
                proxy.restore()
                assert api.get("/ready").status_code == 200

            def propose(person: int) -> Callable[[], httpx.Response]:
                return lambda: api.post(f"{API}/placements", headers=consultant,
                                        json={"participant_id": person, "slot_id": slot})

            # A proposal: placement row, its event and its audit row, in one transaction.
            cut_at(b"INSERT INTO placement_events", True, propose(people[0]))
            assert _placement_state(db, people[0], slot) == (0, 0, 0)
            cut_at(b"COMMIT", False, propose(people[1]))
            assert _placement_state(db, people[1], slot) == (0, 0, 0)
            cut_at(b"COMMIT", True, propose(people[2]))  # committed; the answer was lost
            assert _placement_state(db, people[2], slot) == (1, 1, 1)
            for person in people[:2]:  # the lost ones go through on a second try ...
                r = propose(person)()
                assert r.status_code == 201, r.text
                assert _placement_state(db, person, slot) == (1, 1, 1)
            r = propose(people[2])()  # ... and the committed one is not made twice
            assert r.status_code == 409 and "redan en öppen placering" in r.text, r.text
            assert _placement_state(db, people[2], slot) == (1, 1, 1)

            # A slot edit: title and capacity change together or not at all.
            before = _slot_state(db, slot)

            def edit(n: int) -> Callable[[], httpx.Response]:
                return lambda: api.patch(f"{API}/slots/{slot}", headers=employer,
                                         json={"title": f"Ändrad {n}", "capacity": 4 + n})

            cut_at(b"capacity=", True, edit(1))  # the UPDATE ran; the answer was lost
            assert _slot_state(db, slot) == before
            cut_at(b"COMMIT", False, edit(2))
            assert _slot_state(db, slot) == before
            cut_at(b"COMMIT", True, edit(3))
            assert _slot_state(db, slot) == ("Ändrad 3", 7)
            r = edit(4)()
            assert r.status_code == 200, r.text
            assert _slot_state(db, slot) == ("Ändrad 4", 8)
            assert server.process.poll() is None
    finally:
        proxy.close()


# 3 -------------------------------------------------------------------------------------------

def test_a_locked_sqlite_file_answers_503(tmp_path: Path) -> None:
    """Ten concurrent writes all succeed (each request's transaction takes SQLite's write lock
    at BEGIN and waits its turn; before, all but one failed at once with "database is
    locked"). Then another process holds the write lock past the busy timeout (30 s): writes through
    the API and the pages answer 503, not 500, and store nothing; /ready still reads (WAL);
    once the lock is gone the same server writes again."""
    world = World(tmp_path / "world")
    world.root.mkdir()
    world.run("init-db")
    world.run("demo", "--participants", "60", "--employers", "20", "--slots", "40",
              "--months", "6", "--today", "2026-11-01")
    db = make_engine(world.db_url)
    email, employer_id = _employer(db)
    db.dispose()
    with serve(world, None) as server:
        employer = api_token(server, email, "employer")
        page = page_login(server, email, "employer")
        csrf = csrf_of(page.get("/platser/ny").text)

        # Concurrent writes of the server's own requests wait their turn: none fails.
        def concurrent(n: int) -> None:
            answers[f"c{n}"] = server.client().post(
                f"{API}/slots", json=_slot_body(employer_id, f"conc-{n}"), headers=employer)

        answers: dict[str, httpx.Response] = {}
        burst = [threading.Thread(target=concurrent, args=(n,)) for n in range(10)]
        for t in burst:
            t.start()
        for t in burst:
            t.join(timeout=120)
        assert sorted(r.status_code for r in answers.values()) == [201] * 10, [
            (r.status_code, r.text[:200]) for r in answers.values()]
        holder = sqlite3.connect(world.data_dir / "matchning.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE units SET name = name")

        def api_write() -> None:
            answers["api"] = server.client().post(
                f"{API}/slots", json=_slot_body(employer_id, "locked"), headers=employer)

        def page_write() -> None:
            answers["page"] = page.post("/platser/ny",
                                        data=_slot_form(employer_id, csrf, "Låst sida"))

        threads = [threading.Thread(target=f) for f in (api_write, page_write)]
        t0 = time.monotonic()
        try:
            for t in threads:
                t.start()
            time.sleep(1)
            # A plain read is not blocked by the writer (WAL); the API's reads themselves
            # write (a token's last use, the audit log), so they wait like the writes.
            assert server.client().get("/ready").status_code == 200
            for t in threads:
                t.join(timeout=90)
        finally:
            holder.rollback()
            holder.close()
        waited = time.monotonic() - t0
        _assert_503(answers["api"])
        _assert_503(answers["page"], page=True)
        print(f"\nlocked: both writes answered 503 after {waited:.1f} s")
        with sqlite3.connect(world.data_dir / "matchning.sqlite3") as check:
            assert check.execute("SELECT count(*) FROM slots WHERE external_id = 'locked' "
                                 "OR title = 'Låst sida'").fetchone()[0] == 0
        r = server.client().post(f"{API}/slots", json=_slot_body(employer_id, "locked"),
                                 headers=employer)
        assert r.status_code == 201, r.text
        assert page.post("/platser/ny", data=_slot_form(employer_id, csrf, "Låst sida")
                         ).status_code == 303
