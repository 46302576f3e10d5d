"""The recommendations endpoint over HTTP under load (wrk), beside /health as the ceiling.

    createdb -h 127.0.0.1 -U postgres bench
    .venv/bin/python benchmarks/seed_large.py --participants 400000 --employers 20000 \
        --slots 162000 --units 20 --months 14 --today 2026-11-01 \
        --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    (activate a model: `matchning train`, or `matchning models promote VERSION`)
    .venv/bin/python benchmarks/http_load.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1/bench \
        --models-dir /tmp/big/models --workers 2 --connections 32 --duration 60

Starts `matchning serve` with MATCHNING_WORKERS=--workers on the world, issues a token to one
consultant per unit, and writes a wrk Lua script that asks, on every request, for the top 10 of
a different waiting participant (drawn from --participants of them, with the token of the
participant's unit). Every worker is warmed first (model and slot catalogue loaded) by a
warm-up run that is not counted. Then wrk runs --connections connections for --duration
seconds against the recommendations and, the same way, against /health. Prints requests/s,
p50 / p99 and errors (connect, read, write, timeouts and non-2xx answers) for both, and writes
JSON to --out. Needs `wrk` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from server import API, consultant_tokens, get, rss_mb, serve  # beside this script
from sqlalchemy import func, select

from matchning.config import Settings
from matchning.domain.vocab import ParticipantStatus
from matchning.storage.db import make_engine, make_session_factory
from matchning.storage.tables import ParticipantRow, SlotRow

LUA = r"""
local requests = {
%s
}
local counter = 0
init = function(args)
  math.randomseed(tonumber(args[1]) or 1)
end
request = function()
  local r = requests[math.random(#requests)]
  return wrk.format("GET", r[1], {["Authorization"] = "Bearer " .. r[2]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "p50_us": %%d, ' ..
    '"p90_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%f, "connect": %%d, ' ..
    '"read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, latency.mean, e.connect,
    e.read, e.write, e.status, e.timeout))
end
"""


def wrk(url: str, script: Path, connections: int, seconds: int, threads: int) -> dict:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                          "--timeout", "10s", "-s", str(script), url, "--", "7"],
                         check=True, capture_output=True, text=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    r = json.loads(line[len("RESULT "):])
    secs = r["duration_us"] / 1e6
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return {"requests": r["requests"], "seconds": round(secs, 1),
            "requests_per_s": round(r["requests"] / secs, 1),
            "p50_ms": round(r["p50_us"] / 1000, 1), "p90_ms": round(r["p90_us"] / 1000, 1),
            "p99_ms": round(r["p99_us"] / 1000, 1), "max_ms": round(r["max_us"] / 1000, 1),
            "errors": errors, "error_kinds": {k: r[k] for k in ("connect", "read", "write",
                                                                 "status", "timeout")}}


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process still there."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def database_backends(database_url: str) -> list[int]:
    """PostgreSQL's backend processes serving the benchmark's database (same machine)."""
    name = database_url.rsplit("/", 1)[-1].split("?")[0]
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("postgres:") and f" {name} " in cmd:
                out.append(int(d.name))
    return out


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings (a process that ended meanwhile is lost: the
    workers and their pooled connections live through a run)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def connections_per_worker(server, port: int) -> list[int]:
    """Established connections on `port` held by each worker, most first (from /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":  # ESTABLISHED
            inodes.add(f"socket:[{fields[9]}]")
    held = []
    for pid in server.worker_pids():
        n = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # closed meanwhile
                n += os.readlink(fd) in inodes
        held.append(n)
    return sorted(held, reverse=True)


def measured(server, database_url: str, run, seconds: int, port: int) -> dict:
    """`run()`'s result with the CPU it cost the workers and the database, per request, and
    how the connections were spread over the workers half way through."""
    workers = [*server.worker_pids(), server.process.pid]
    app0 = cpu_seconds(workers)
    db0 = cpu_seconds(database_backends(database_url))
    load_before = os.getloadavg()[0]
    spread: list[int] = []
    probe = threading.Timer(seconds / 2, lambda: spread.extend(
        connections_per_worker(server, port)))
    probe.start()
    r = run()
    probe.join()
    app = _spent(app0, cpu_seconds(workers))
    db = _spent(db0, cpu_seconds(database_backends(database_url)))
    n = max(r["requests"], 1)
    return {**r, "cpu_ms_per_request": {"app": round(app * 1000 / n, 2),
                                        "database": round(db * 1000 / n, 2)},
            "connections_per_worker": spread,
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--models-dir", type=Path, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--duration", type=int, default=60, help="seconds per wrk run")
    ap.add_argument("--warmup", type=int, default=30, help="seconds of uncounted load first")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--participants", type=int, default=5000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--runs", type=int, default=1, help="measured runs of the recommendations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("reports/http_load.json"))
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    engine = make_engine(args.database_url)
    factory = make_session_factory(engine)
    tokens = consultant_tokens(factory, make_settings(args))
    with factory() as s:
        people = s.execute(select(ParticipantRow.id, ParticipantRow.unit_id).where(
            ParticipantRow.status == ParticipantStatus.waiting.value)).all()
        open_slots = s.scalar(select(func.count()).select_from(SlotRow)
                              .where(SlotRow.status == "open"))
    engine.dispose()
    rng = random.Random(args.seed)
    chosen = rng.sample([p for p in people if p[1] in tokens],
                        min(args.participants, len(people)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    script = args.out.with_suffix(".lua")
    script.write_text(LUA % ",\n".join(
        f'  {{"{API}/participants/{pid}/recommendations?k={args.k}", "{tokens[unit]}"}}'
        for pid, unit in chosen), encoding="utf-8")
    health = args.out.with_suffix(".health.lua")
    health.write_text(LUA % f'  {{"/health", "{next(iter(tokens.values()))}"}}',
                      encoding="utf-8")

    log = args.out.with_suffix(".server.log")
    with serve(args.database_url, args.models_dir, args.workers, args.port,
               log=log) as server:
        pid, unit = chosen[0]
        t = time.perf_counter()
        status, body = get(f"{server.url}{API}/participants/{pid}/recommendations",
                           tokens[unit])
        assert status == 200, body[:300]
        first_s = time.perf_counter() - t
        if args.warmup:  # every worker loads the model and encodes the catalogue
            wrk(server.url, script, args.connections, args.warmup, args.threads)
        # Each run opens its connections anew, and the kernel spreads them over the workers
        # by a hash (cli/listeners.py): --runs repeats the load to show how much that moves.
        loads = [measured(server, args.database_url, lambda: wrk(
            server.url, script, args.connections, args.duration, args.threads),
            args.duration, args.port) for _ in range(args.runs)]
        load = loads[0]
        ceiling = measured(server, args.database_url, lambda: wrk(
            server.url, health, args.connections, args.duration, args.threads),
            args.duration, args.port)
        memory = {str(p): round(rss_mb(p)[0]) for p in server.worker_pids()}

    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.node()} {platform.machine()}", "cores": os.cpu_count(),
              "load_average_after": os.getloadavg(),
              "database": args.database_url.split(":")[0], "open_slots": open_slots,
              "workers": args.workers, "connections": args.connections,
              "duration_s": args.duration, "participants_drawn_from": len(chosen),
              "first_request_s": round(first_s, 1), "recommendations": load,
              "recommendations_runs": loads,
              "health": ceiling, "worker_rss_mb": memory}
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"{args.workers} workers, {args.connections} connections, {args.duration} s, "
          f"{open_slots:,} open slots, {result['database']}")
    print(f"{'endpoint':<18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'requests':>10}{'errors':>8}")
    runs = [("recommendations", r) for r in loads] + [("/health", ceiling)]
    for name, r in runs:
        print(f"{name:<18}{r['requests_per_s']:>9}{r['p50_ms']:>9}{r['p99_ms']:>9}"
              f"{r['max_ms']:>9}{r['requests']:>10,}{r['errors']:>8}  "
              f"connections per worker {r['connections_per_worker']}")
    for name, r in runs:
        c = r["cpu_ms_per_request"]
        print(f"{name}: CPU per request {c['app']} ms in the workers + {c['database']} ms in "
              f"PostgreSQL; load average {r['load_average'][0]} before, "
              f"{r['load_average'][1]} after")
    print(f"worker RSS (MB): {memory}; JSON: {args.out}")


def make_settings(args: argparse.Namespace) -> Settings:
    return Settings(database_url=args.database_url, models_dir=args.models_dir)


if __name__ == "__main__":
    main()
