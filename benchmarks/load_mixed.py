"""Mixed traffic against a real `matchning serve` on PostgreSQL, then a check of every write.

    createdb -h 127.0.0.1 -U postgres loadmixed
    .venv/bin/python benchmarks/load_mixed.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1/loadmixed \
        --models-dir /tmp/loadmixed/models --seed-world --workers 2 --users 8 --duration 300

With --seed-world an empty database gets `matchning init-db`, a demo world (--participants,
--employers, --slots) and a trained model first. Then `matchning serve` starts with --workers
on 127.0.0.1 (loopback only) and --users virtual users send requests back to back for
--duration seconds (at most --max-requests in all): consultants asking for suggestions
(`suggest`), employers posting slots (`slot_create`, each with a unique external id) and
editing their own (`slot_edit`: description and, now and then, one place more), consultants
proposing placements (`propose`) and moving their own proposals along (`accept`, `decline`,
`withdraw`, `start`, `complete`). Every answer is logged with what was sent.

Then, reading the database directly: no 5xx and no transport errors; every slot and placement
that was answered 2xx is stored exactly once with the last state the generator was told
(a slot's last edit, a placement's last status and one event per successful change), nothing
that was not answered 2xx is stored, and no slot anywhere has more accepted or started
placements than places. A 409 (a full slot, a participant already in practice elsewhere, a
placement proposed twice) is the service refusing correctly and is counted apart.
Prints a table (per request type: count, 409s, errors, p50, p99, max) and writes JSON to
--out; exits 1 when any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from load_checks import Ledger, check_database, summarise  # beside this script
from server import API, serve  # beside this script
from sqlalchemy import select, text

from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.services import users
from matchning.services.context import Context
from matchning.storage.db import make_engine, make_session_factory, unit_of_work
from matchning.storage.tables import UserRow

WEIGHTS = {"suggest": 35, "slot_create": 10, "slot_edit": 15, "propose": 20, "move": 20}
NEXT = {"proposed": (("accept", 6), ("decline", 2), ("withdraw", 2)),
        "accepted": (("start", 7), ("withdraw", 3)), "started": (("complete", 1),)}
DECLINE_REASON = "Passar inte just nu (lasttest)"


def seed_world(url: str, models_dir: Path, args: argparse.Namespace) -> None:
    """init-db, the demo world and a trained model, when the database holds no participant."""
    cli = Path(sys.executable).parent / "matchning"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MATCHNING_")},
           "MATCHNING_DATABASE_URL": url, "MATCHNING_MODELS_DIR": str(models_dir),
           "MATCHNING_LOG_LEVEL": "WARNING"}
    run = lambda *a: subprocess.run([str(cli), *a], env=env, check=True,  # noqa: E731
                                    capture_output=True, text=True)
    run("init-db")
    engine = make_engine(url)
    with engine.connect() as conn:
        people = conn.execute(text("SELECT count(*) FROM participants")).scalar()
    engine.dispose()
    if not people:
        run("demo", "--participants", str(args.participants), "--employers",
            str(args.employers), "--slots", str(args.slots), "--months", "18")
    run("train", "--if-none")


def tokens(url: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Fresh API tokens: [(token, unit_id)] of consultants, [(token, employer_id)] of
    employer users."""
    engine = make_engine(url)
    settings = Settings(database_url=url)
    out: dict[str, list[tuple[str, int]]] = {"consultant": [], "employer": []}
    with unit_of_work(make_session_factory(engine)) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=settings)
        for user in session.scalars(select(UserRow).where(
                UserRow.role.in_(out), UserRow.active.is_(True)).order_by(UserRow.id)):
            owner = user.unit_id if user.role == "consultant" else user.employer_id
            out[user.role].append((users.issue_token(ctx, user.id, "load_mixed").token, owner))
    engine.dispose()
    return out["consultant"], out["employer"]


class VirtualUser:
    """One consultant and one employer user taking turns, with what they own."""

    def __init__(self, n: int, run: str, ledger: Ledger, world: dict, rng: random.Random,
                 consultant: tuple[str, int], employer: tuple[str, int]):
        self.n, self.run, self.ledger, self.world, self.rng = n, run, ledger, world, rng
        self.c_headers = {"Authorization": f"Bearer {consultant[0]}"}
        self.unit = consultant[1]
        self.e_headers = {"Authorization": f"Bearer {employer[0]}"}
        self.employer_id = employer[1]
        self.slots: list[int] = []          # created by this user (edited only by it)
        self.placements: dict[int, str] = {}  # proposed by this user: id → last status
        self.count = 0

    async def step(self, client: httpx.AsyncClient) -> None:
        kind = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        if kind == "slot_edit" and not self.slots:
            kind = "slot_create"
        if kind == "move" and not any(s in NEXT for s in self.placements.values()):
            kind = "propose"
        await getattr(self, kind)(client)

    async def _send(self, client: httpx.AsyncClient, kind: str, method: str, path: str,
                    headers: dict[str, str], body: dict | None = None,
                    ledger: Ledger | None = None) -> httpx.Response | None:
        ledger = ledger or self.ledger
        t = time.perf_counter()
        try:
            r = await client.request(method, path, headers=headers, json=body)
        except httpx.HTTPError as exc:
            ledger.answer(kind, None, time.perf_counter() - t, type(exc).__name__)
            return None
        ledger.answer(kind, r.status_code, time.perf_counter() - t,
                      r.text[:300] if r.status_code >= 400 else "")
        return r

    async def suggest(self, client: httpx.AsyncClient, ledger: Ledger | None = None) -> None:
        person = self.rng.choice(self.world["people"][self.unit])
        await self._send(client, "suggest", "GET",
                         f"{API}/participants/{person}/recommendations?k=10", self.c_headers,
                         ledger=ledger)

    async def slot_create(self, client: httpx.AsyncClient) -> None:
        self.count += 1
        ext = f"load-{self.run}-{self.n}-{self.count}"
        body = {"employer_id": self.employer_id, "title": f"Lasttest {self.n}-{self.count}",
                "occupation_code": self.rng.choice(self.world["occupations"]),
                "kommunkod": self.world["kommun"][self.employer_id],
                "capacity": self.rng.randint(1, 3), "description": "skapad",
                "external_id": ext}
        self.ledger.sent_slot(ext, body)
        r = await self._send(client, "slot_create", "POST", f"{API}/slots", self.e_headers,
                             body)
        if r is not None and r.status_code == 201:
            self.ledger.slot_created(ext, r.json()["id"])
            self.slots.append(r.json()["id"])
            self.world["open_slots"].append(r.json()["id"])

    async def slot_edit(self, client: httpx.AsyncClient) -> None:
        slot = self.rng.choice(self.slots)
        self.count += 1
        patch: dict = {"description": f"ändrad {self.n}-{self.count}"}
        if self.rng.random() < 0.3:
            patch["capacity"] = self.ledger.slot_capacity(slot) + 1
        r = await self._send(client, "slot_edit", "PATCH", f"{API}/slots/{slot}",
                             self.e_headers, patch)
        if r is not None and r.status_code == 200:
            self.ledger.slot_edited(slot, patch)

    async def propose(self, client: httpx.AsyncClient) -> None:
        person = self.rng.choice(self.world["people"][self.unit])
        slot = self.rng.choice(self.world["open_slots"])
        r = await self._send(client, "propose", "POST", f"{API}/placements", self.c_headers,
                             {"participant_id": person, "slot_id": slot})
        if r is not None and r.status_code == 201:
            self.placements[r.json()["id"]] = "proposed"
            self.ledger.placement(r.json()["id"], "proposed", new=True)

    async def move(self, client: httpx.AsyncClient) -> None:
        pid, status = self.rng.choice([(p, s) for p, s in self.placements.items()
                                       if s in NEXT])
        actions, weights = zip(*NEXT[status], strict=True)
        action = self.rng.choices(actions, weights=weights)[0]
        body = {"reason": DECLINE_REASON} if action == "decline" else None
        r = await self._send(client, action, "POST", f"{API}/placements/{pid}/{action}",
                             self.c_headers, body)
        if r is not None and r.status_code == 200:
            self.placements[pid] = r.json()["status"]
            self.ledger.placement(pid, r.json()["status"])


async def drive(url: str, vus: list[VirtualUser], seconds: float, max_requests: int,
                warmup: int) -> float:
    limits = httpx.Limits(max_connections=len(vus), max_keepalive_connections=len(vus))
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        # Not counted: every worker loads the model and the slot catalogue once.
        scratch = Ledger()
        for _ in range(warmup):
            await asyncio.gather(*(vu.suggest(client, scratch) for vu in vus))
        started = time.monotonic()
        stop = started + seconds

        async def loop(vu: VirtualUser) -> None:
            while time.monotonic() < stop and vus[0].ledger.total < max_requests:
                await vu.step(client)
        await asyncio.gather(*(loop(vu) for vu in vus))
    return time.monotonic() - started


def world_facts(url: str) -> dict:
    engine = make_engine(url)
    with engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
        people: dict[int, list[int]] = {}
        for pid, unit in q("SELECT id, unit_id FROM participants WHERE status = 'väntande'"):
            people.setdefault(unit, []).append(pid)
        facts = {"people": people,
                 "open_slots": [r[0] for r in q("SELECT id FROM slots WHERE status = 'open' "
                                                "AND (end_date IS NULL OR end_date >= "
                                                "CURRENT_DATE)")],
                 "occupations": sorted({r[0] for r in q("SELECT occupation_code FROM slots")}),
                 "kommun": dict(q("SELECT id, kommunkod FROM employers")),
                 "max_placement": q("SELECT coalesce(max(id), 0) FROM placements")[0][0]}
    engine.dispose()
    return facts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True,
                    help="PostgreSQL URL of a database the run may write to")
    ap.add_argument("--models-dir", type=Path, required=True)
    ap.add_argument("--seed-world", action="store_true",
                    help="migrate; seed a demo world and train a model when empty")
    ap.add_argument("--participants", type=int, default=600)
    ap.add_argument("--employers", type=int, default=150)
    ap.add_argument("--slots", type=int, default=450)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--users", type=int, default=8, help="virtual users (concurrency)")
    ap.add_argument("--duration", type=float, default=300, help="seconds of load")
    ap.add_argument("--max-requests", type=int, default=200_000)
    ap.add_argument("--warmup", type=int, default=3,
                    help="rounds of uncounted suggestions (one per user) first")
    ap.add_argument("--port", type=int, default=8767)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("reports/load_mixed.json"))
    args = ap.parse_args()

    if args.seed_world:
        seed_world(args.database_url, args.models_dir, args)
    consultants, employers = tokens(args.database_url)
    if not consultants or not employers:
        raise SystemExit("the world needs consultant and employer users (seed a demo world)")
    world = world_facts(args.database_url)
    consultants = [c for c in consultants if world["people"].get(c[1])]
    run = uuid.uuid4().hex[:6]
    ledger = Ledger()
    rng = random.Random(args.seed)
    vus = [VirtualUser(i, run, ledger, world, random.Random(rng.random()),
                       consultants[i % len(consultants)], employers[i % len(employers)])
           for i in range(args.users)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    log = args.out.with_suffix(".server.log")
    with serve(args.database_url, args.models_dir, args.workers, args.port, log=log) as server:
        elapsed = asyncio.run(drive(server.url, vus, args.duration, args.max_requests,
                                    args.warmup))
    problems = check_database(args.database_url, ledger, run, world["max_placement"])
    table = summarise(ledger)
    problems += [f"{row['type']}: {row['errors']} errors, e.g. {row['example']}"
                 for row in table if row["errors"]]
    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.node()} {platform.machine()}", "cores": os.cpu_count(),
              "load_average_after": os.getloadavg(), "database": args.database_url.split(":")[0],
              "workers": args.workers, "users": args.users, "duration_s": round(elapsed, 1),
              "requests": ledger.total, "requests_per_s": round(ledger.total / elapsed, 1),
              "writes_checked": ledger.writes_checked(), "types": table,
              "problems": problems, "ok": not problems}
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"{args.workers} workers, {args.users} users, {elapsed:.0f} s, {ledger.total:,} "
          f"requests ({result['requests_per_s']}/s), {result['database']}")
    print(f"{'type':<12}{'count':>8}{'409':>7}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'max ms':>9}")
    for row in table:
        print(f"{row['type']:<12}{row['count']:>8}{row['conflicts']:>7}{row['errors']:>8}"
              f"{row['p50_ms']:>9}{row['p99_ms']:>9}{row['max_ms']:>9}")
    print("checked: " + ", ".join(f"{k} {v}" for k, v in result["writes_checked"].items()))
    print("OK: no 5xx, no lost or duplicated write, no slot over capacity" if not problems
          else "FAILED:\n  " + "\n  ".join(problems[:30]))
    print(f"JSON: {args.out}")
    raise SystemExit(0 if not problems else 1)


if __name__ == "__main__":
    main()
