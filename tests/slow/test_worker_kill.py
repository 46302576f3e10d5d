"""SIGKILL of an API worker during writes (issue 7, faults), done for real: `matchning serve`
with 2 workers on a PostgreSQL database of the test's own, four clients sending numbered
writes (a slot with a known external id, then a placement proposed on it), `kill -9` of one
worker mid-stream. Afterwards, read directly from the database: every write answered 2xx is
there exactly once and whole; a write that got no answer is there whole or not at all; the
service kept answering and uvicorn started a new worker."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.slow.lifecycle_helpers import World, wait_for
from tests.slow.server_helpers import API, api_token, serve

pytestmark = pytest.mark.slow

CLIENTS = 4
WRITES_PER_CLIENT = 25
KILL_AFTER = 30  # answered writes before the kill


def _rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_sigkill_of_a_worker_during_writes(pg_world: tuple[World, Engine]) -> None:
    world, db = pg_world
    email, employer_id = _rows(db, "SELECT email, employer_id FROM users WHERE role = "
                                   "'employer' ORDER BY id LIMIT 1")[0]
    people = [r[0] for r in _rows(db, "SELECT id FROM participants WHERE unit_id = 1 AND "
                                      "status = 'väntande' ORDER BY id")]
    assert len(people) >= CLIENTS
    answered: dict[str, int] = {}               # slot external id → id, answered 201
    unanswered: list[str] = []                  # sent, no answer (the worker died)
    proposals: dict[int, tuple[int, int]] = {}  # placement id → (participant, slot), 201
    lost_proposals: list[tuple[int, int]] = []  # (participant, slot) sent, no answer
    others: list[tuple[int, str]] = []          # any other answer: a failure
    lock = threading.Lock()

    with serve(world, world.db_url, workers=2) as server:
        consultant = api_token(server, "konsulent1-001@demo.example", "consultant")
        employer = api_token(server, email, "employer")
        workers_before = server.worker_pids()
        assert len(workers_before) == 2, workers_before

        def client(c: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for n in range(WRITES_PER_CLIENT):
                    ext = f"kill-{c}-{n}"
                    body = {"employer_id": employer_id, "title": f"Plats {ext}",
                            "occupation_code": "5223", "kommunkod": "0180", "capacity": 1,
                            "description": "Numrerad skrivning.", "external_id": ext}
                    try:
                        r = http.post(f"{API}/slots", json=body, headers=employer)
                    except httpx.TransportError:
                        with lock:
                            unanswered.append(ext)
                        continue
                    if r.status_code != 201:
                        with lock:
                            others.append((r.status_code, r.text[:200]))
                        continue
                    slot = r.json()["id"]
                    with lock:
                        answered[ext] = slot
                    pair = (people[c], slot)
                    try:
                        r = http.post(f"{API}/placements", headers=consultant,
                                      json={"participant_id": pair[0], "slot_id": slot})
                    except httpx.TransportError:
                        with lock:
                            lost_proposals.append(pair)
                        continue
                    with lock:
                        if r.status_code == 201:
                            proposals[r.json()["id"]] = pair
                        else:
                            others.append((r.status_code, r.text[:200]))

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        wait_for("writes before the kill", lambda: len(answered) >= KILL_AFTER, timeout=120,
                 every=0.01)
        victim = workers_before[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = len(answered)
        for t in threads:
            t.join(timeout=180)
        assert killed_at < CLIENTS * WRITES_PER_CLIENT, "the kill came after the writes"

        # The service kept answering, and uvicorn replaced the dead worker.
        assert server.process.poll() is None
        def two_workers() -> list[int] | None:
            pids = server.worker_pids()
            return pids if len(pids) == 2 and victim not in pids else None

        replaced = wait_for("a new worker", two_workers, timeout=60)
        assert workers_before[1] in replaced
        r = httpx.post(f"{server.url}{API}/slots", headers=employer, timeout=30,
                       json={"employer_id": employer_id, "title": "Efter", "capacity": 1,
                             "occupation_code": "5223", "kommunkod": "0180",
                             "external_id": "kill-after"})
        assert r.status_code == 201, r.text

    assert not others, others  # nothing but 201s and answers lost with the worker
    assert len(answered) + len(unanswered) == CLIENTS * WRITES_PER_CLIENT
    stored = _rows(db, "SELECT external_id, id, title, capacity, employer_id FROM slots "
                       "WHERE external_id LIKE 'kill-%' AND external_id <> 'kill-after'")
    by_ext = {r[0]: r for r in stored}
    assert len(by_ext) == len(stored)  # none twice
    for ext, slot in answered.items():  # every 2xx is there, whole
        assert by_ext.get(ext) == (ext, slot, f"Plats {ext}", 1, employer_id), ext
    for ext in set(by_ext) - set(answered):  # without an answer: whole, or not at all
        assert ext in unanswered and by_ext[ext][2:] == (f"Plats {ext}", 1, employer_id)

    placed = {r[0]: r[1:] for r in _rows(
        db, "SELECT p.id, p.participant_id, p.slot_id, p.status, (SELECT count(*) FROM "
            "placement_events e WHERE e.placement_id = p.id), (SELECT count(*) FROM audit_log "
            "a WHERE a.action = 'placement.propose' AND a.detail->>'placement_id' = "
            "CAST(p.id AS TEXT)) FROM placements p JOIN slots s ON s.id = p.slot_id "
            "WHERE s.external_id LIKE 'kill-%'")}
    for pid, pair in proposals.items():
        assert placed.get(pid) == (*pair, "proposed", 1, 1), (pid, placed.get(pid))
    for pid in set(placed) - set(proposals):
        assert placed[pid][:2] in lost_proposals and placed[pid][2:] == ("proposed", 1, 1)
    print(f"\n{len(answered)} slots and {len(proposals)} proposals answered; "
          f"{len(unanswered)} + {len(lost_proposals)} lost with the worker; "
          f"{len(set(by_ext) - set(answered))} of those committed")


def test_keep_alive_connections_spread_over_the_workers(pg_world: tuple[World, Engine]
                                                        ) -> None:
    """Each worker accepts on a socket of its own (cli/listeners.py): 24 keep-alive
    connections opened at once are shared out, not taken by the worker that woke first."""
    world, _ = pg_world
    with serve(world, world.db_url, workers=3) as server:
        clients = [httpx.Client(base_url=server.url, timeout=30) for _ in range(24)]
        try:
            threads = [threading.Thread(target=c.get, args=("/health",)) for c in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            held = server.connections_per_worker()
            assert len(held) == 3 and sum(held.values()) == 24, held
            # One shared socket gave 28, 2 and 2 of 32 here; each worker gets a share now
            # (the kernel hashes each connection to a socket: 0 or over 16 of 24 for one
            # worker has odds of about 1 in 2,000).
            assert min(held.values()) >= 1 and max(held.values()) <= 16, held
        finally:
            for c in clients:
                c.close()
