"""Training time and peak memory (RSS) of `matchning train` on a seeded history.

    .venv/bin/python benchmarks/training.py --participants 50000 --employers 2500 \
        --slots 20250 --units 20 --months 14 --workdir /tmp/matchning-train100k
    .venv/bin/python benchmarks/training.py --database-url sqlite:////tmp/big/matchning.sqlite3 \
        --models-dir /tmp/big/models

Without --database-url the demo generator (seeded) writes a world of the given size into a
SQLite file in --workdir first (skipped when the file is already there). Training then runs in
a fresh child process, exactly the service path of `matchning train` (`services.training.train`:
history load, labels, sampled negatives, features, the validation fits of every candidate
family, the final fit and its calibration, saving the version), with each phase timed. Peak RSS
is the child's high-water mark (VmHWM), read after each phase. --profile writes a pyinstrument
report beside the JSON. Prints a table and writes JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _peak_mb() -> float:
    """This process's peak resident set so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """Run `training.train` once with each phase timed; print one JSON line."""
    from matchning.config import Settings
    from matchning.domain.principal import SYSTEM
    from matchning.ml import registry
    from matchning.services import training
    from matchning.services.context import Context
    from matchning.storage.db import make_engine, make_session_factory, unit_of_work

    phases: dict[str, dict[str, float]] = {}

    def timed(name, fn):
        def run(*a, **kw):
            t, c = time.perf_counter(), time.process_time()
            out = fn(*a, **kw)
            phases[name] = {"seconds": round(time.perf_counter() - t, 2),
                            "cpu_seconds": round(time.process_time() - c, 2),
                            "peak_rss_mb": round(_peak_mb())}
            return out
        return run

    training.load_history = timed("load_history", training.load_history)
    training.training_rows = timed("labels", training.training_rows)
    training.sample_negatives = timed("negatives", training.sample_negatives)
    training.fit_model = timed("features_and_fits", training.fit_model)
    registry.save = timed("save", registry.save)

    settings = Settings(database_url=args.database_url, models_dir=args.models_dir)
    engine = make_engine(args.database_url)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.01)
        profiler.start()
    t, c = time.perf_counter(), time.process_time()
    with unit_of_work(make_session_factory(engine)) as session:
        result = training.train(Context(session=session, principal=SYSTEM, settings=settings))
    total, cpu = time.perf_counter() - t, time.process_time() - c
    if profiler is not None:
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=True, color=False,
                                                     show_all=False), encoding="utf-8")
    engine.dispose()
    rows = result.info["rows"]
    print(json.dumps({"seconds": round(total, 1), "cpu_seconds": round(cpu, 1),
                      "peak_rss_mb": round(_peak_mb()), "load_average": os.getloadavg(),
                      "phases": phases, "rows": rows, "version": result.version,
                      "estimator": result.info["estimator"],
                      "validation": result.info["validation"]}))


def _count_placements(url: str) -> int:
    from sqlalchemy import func, select

    from matchning.storage.db import make_engine
    from matchning.storage.tables import PlacementRow

    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(PlacementRow)).scalar_one()
    engine.dispose()
    return int(n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=None,
                    help="a seeded world; default: seed one of the size below in --workdir")
    ap.add_argument("--models-dir", type=Path, default=None,
                    help="default: --workdir/models")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/matchning-train"))
    ap.add_argument("--participants", type=int, default=50_000)
    ap.add_argument("--employers", type=int, default=2_500)
    ap.add_argument("--slots", type=int, default=20_250)
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--months", type=int, default=14)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--today", default="2026-11-01")
    ap.add_argument("--profile", action="store_true", help="also write a pyinstrument report")
    ap.add_argument("--out", type=Path, default=Path("reports/training.json"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--profile-path", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.profile = args.profile_path
        return child(args)

    args.workdir.mkdir(parents=True, exist_ok=True)
    url = args.database_url
    seeded_s = None
    if url is None:
        db = args.workdir / "world.sqlite3"
        url = f"sqlite:///{db}"
        if not db.exists():
            t = time.perf_counter()
            subprocess.run([sys.executable, str(HERE / "seed_large.py"),
                            "--participants", str(args.participants),
                            "--employers", str(args.employers), "--slots", str(args.slots),
                            "--units", str(args.units), "--months", str(args.months),
                            "--seed", str(args.seed), "--today", args.today,
                            "--database-url", url], check=True)
            seeded_s = round(time.perf_counter() - t, 1)
    models_dir = args.models_dir or args.workdir / "models"
    placements = _count_placements(url)

    profile = args.out.with_suffix(".profile.txt") if args.profile else None
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--database-url", url,
           "--models-dir", str(models_dir)]
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["--profile-path", str(profile.resolve())]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])

    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}", "cores": os.cpu_count(),
        "python": platform.python_version(), "database": url.split(":")[0],
        "placements": placements, "seed_seconds": seeded_s, **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    rows = result["rows"]
    print(f"{'placements':>11}{'labelled':>10}{'sampled':>10}{'train rows':>11}"
          f"{'seconds':>9}{'CPU s':>8}{'peak RSS MB':>13}")
    print(f"{placements:>11,}{rows['placements'] + rows['feedback']:>10,}"
          f"{rows['sampled_negatives']:>10,}{rows['rows']:>11,}{result['seconds']:>9}"
          f"{result['cpu_seconds']:>8}{result['peak_rss_mb']:>13,}")
    print(f"{'phase':<20}{'seconds':>9}{'CPU s':>8}{'peak RSS MB':>13}")
    for name, p in result["phases"].items():
        print(f"{name:<20}{p['seconds']:>9}{p['cpu_seconds']:>8}{p['peak_rss_mb']:>13,}")
    print(f"chosen: {result['estimator']}; JSON: {args.out}"
          + (f"; profile: {profile}" if profile else ""))


if __name__ == "__main__":
    main()
