"""Time the demo world generator on a large world.

    .venv/bin/python benchmarks/seed_large.py --participants 400000 --employers 20000 \
        --slots 100000

Writes into a fresh SQLite file (deleted afterwards unless --keep) or into --database-url
(which must hold an empty, migrated schema or be creatable by the migrations), and prints the
seconds and rows per second, per table and in total.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path

from matchning.demo import DemoConfig, seed_demo_world
from matchning.storage.db import make_engine
from matchning.storage.migrate import upgrade


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=400_000)
    ap.add_argument("--employers", type=int, default=20_000)
    ap.add_argument("--slots", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--units", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--variant", default="default", choices=("default", "alt"))
    ap.add_argument("--today", type=date.fromisoformat, default=None)
    ap.add_argument("--database-url", default=None,
                    help="default: a new SQLite file in a temporary directory")
    ap.add_argument("--truth", type=Path, default=None, help="also write the truth file here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="matchning-seed-"))
    url = args.database_url or f"sqlite:///{tmp / 'demo.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    config = DemoConfig(participants=args.participants, employers=args.employers,
                        slots=args.slots, months=args.months, units=args.units, seed=args.seed,
                        variant=args.variant, today=args.today)
    started = time.perf_counter()
    summary = seed_demo_world(engine, config, truth_path=args.truth)
    seconds = time.perf_counter() - started
    engine.dispose()

    print(f"database: {url}  cores: {os.cpu_count()}")
    print(f"{'table':<24}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    for name, rows in summary.counts.items():
        s = summary.stats.get(f"seconds.write.{name}", 0.0)
        rate = f"{rows / s:,.0f}" if s > 0 else "-"
        print(f"{name:<24}{rows:>12,}{s:>10.1f}{rate:>12}")
    total = sum(summary.counts.values())
    print(f"{'generate (numpy)':<24}{'':>12}{summary.stats['seconds.build']:>10.1f}")
    if "seconds.truth" in summary.stats:
        print(f"{'truth file':<24}{'':>12}{summary.stats['seconds.truth']:>10.1f}")
    print(f"{'total':<24}{total:>12,}{seconds:>10.1f}{total / seconds:>12,.0f}")
    rates = {k: v for k, v in summary.stats.items() if not k.startswith("seconds.")}
    print("history:", rates)
    if args.database_url is None and not args.keep:
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()
    elif args.database_url is None:
        print(f"kept {tmp / 'demo.sqlite3'}")


if __name__ == "__main__":
    main()
