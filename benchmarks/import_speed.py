"""Import throughput (rows/s) of `matchning import` on a generated national world.

    .venv/bin/python benchmarks/import_speed.py --slots 100000 --participants 400000 \
        --database-url sqlite:////tmp/import-bench/import.sqlite3
    createdb -h 127.0.0.1 -U postgres bench_import
    .venv/bin/python benchmarks/import_speed.py --slots 100000 --participants 400000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1/bench_import

The demo generator (seeded) makes the world; its units, employers, slots and participants
are written as CSV files in the import format (docs/import.md) under --workdir (kept and
reused when the same size is asked again). The target database must be empty; it is migrated
first. Each file is then imported as `matchning import` does it (`importer.import_directory`,
one transaction per file, every row validated by the services' rules), one file after the
other so each is timed on its own. Prints rows/s per file and writes JSON to --out. The CPU
seconds are both processes' where a big file is checked in a second one (docs/import.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select

from matchning.config import Settings
from matchning.importer.runner import import_directory
from matchning.storage.db import make_engine, make_session_factory
from matchning.storage.migrate import upgrade
from matchning.storage.tables import UnitRow

FILES = ("units.csv", "employers.csv", "slots.csv", "participants.csv")
SLOT_COLUMNS = ("id", "employer", "title", "description", "occupation_code", "required_skills",
                "nice_skills", "kommunkod", "lat", "lon", "capacity", "hours_per_week",
                "start_date", "end_date", "driving_licences", "swedish_level",
                "physical_demand", "accessible", "supervisor", "may_lead_to_job", "status")
PARTICIPANT_COLUMNS = (
    "id", "unit", "display_name", "status", "exit_outcome", "exit_date", "enrolled_on",
    "kommunkod", "postcode", "lat", "lon", "max_commute_km", "driving_licences", "own_car",
    "swedish_level", "other_languages", "education_level", "wished_occupations", "past_work",
    "skills", "profile_text", "max_hours_per_week", "earliest_start", "needs_supervisor",
    "adaptations", "adaptations_consent_date", "target_groups", "gender", "birth_year",
    "born_abroad")


def cell(value) -> str:
    """A value in the import's cell format (docs/import.md)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "|".join(f"{v['code']}:{v['years']}" if isinstance(v, dict) else str(v)
                        for v in value)
    return str(value)


def write_world(workdir: Path, args: argparse.Namespace) -> dict[str, int]:
    """The world's CSV files in `workdir`; returns the rows per file."""
    from matchning.demo import DemoConfig
    from matchning.demo import rows as R
    from matchning.demo.config import EMPLOYER_ID, UNIT_ID
    from matchning.demo.world import build_world

    cfg = DemoConfig(participants=args.participants, employers=args.employers,
                     slots=args.slots, months=1, units=args.units, seed=args.seed,
                     today=date(2026, 11, 1)).validated()
    w = build_world(cfg)
    ids = {k: 0 for k in ("units", "employers", "slots", "participants", "users")}
    counts = {}

    def write(name: str, header, rows) -> None:
        with (workdir / name).open("w", encoding="utf-8", newline="") as f:
            out = csv.writer(f)
            out.writerow(header)
            n = 0
            for row in rows:
                out.writerow([cell(v) for v in row])
                n += 1
        counts[name] = n

    write("units.csv", ("id", "name", "kommuner"),
          ((UNIT_ID.format(u.number), u.name, [w.geo.codes[k] for k in u.kommuner])
           for u in w.geo.units))
    emp_cols = ("name", "orgnr", "sector", "size_band", "kommunkod", "contact_name",
                "contact_email", "contact_phone")
    write("employers.csv", ("id", *emp_cols),
          ((r["external_id"], *(r[c] for c in emp_cols)) for r in R.employer_rows(w, ids)))
    write("slots.csv", SLOT_COLUMNS,
          ((r["external_id"], EMPLOYER_ID.format(r["employer_id"]),
            *(r[c] for c in SLOT_COLUMNS[2:])) for r in R.slot_rows(w, ids)))
    mon = R.monitoring_rows(w, ids)

    def people():
        for r, m in zip(R.participant_rows(w, ids), mon, strict=True):
            r = {**r, **m, "id": r["external_id"], "unit": UNIT_ID.format(r["unit_id"])}
            yield [r[c] for c in PARTICIPANT_COLUMNS]
    write("participants.csv", PARTICIPANT_COLUMNS, people())
    return counts


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (the import's second process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True, help="an empty database")
    ap.add_argument("--participants", type=int, default=400_000)
    ap.add_argument("--employers", type=int, default=20_000)
    ap.add_argument("--slots", type=int, default=100_000)
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/matchning-import-bench"))
    ap.add_argument("--parallel-rows", type=int, default=None,
                    help="MATCHNING_IMPORT_PARALLEL_ROWS for the run (0: one process)")
    ap.add_argument("--out", type=Path, default=None,
                    help="default: reports/import_speed-<database>.json")
    args = ap.parse_args()

    size = f"p{args.participants}-e{args.employers}-s{args.slots}-u{args.units}-{args.seed}"
    csvs = args.workdir / size
    if not (csvs / "participants.csv").exists():
        csvs.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        write_world(csvs, args)
        print(f"wrote the CSV files in {time.perf_counter() - t:.0f} s: {csvs}")
    engine = make_engine(args.database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        if session.scalar(select(func.count()).select_from(UnitRow)):
            raise SystemExit("the database is not empty: give an empty one")
    settings = Settings(database_url=args.database_url,
                        data_dir=args.workdir, models_dir=args.workdir / "models")
    if args.parallel_rows is not None:
        settings = settings.model_copy(update={"import_parallel_rows": args.parallel_rows})
    results = []
    load_before = os.getloadavg()
    for name in FILES:
        one = args.workdir / "one-file"
        shutil.rmtree(one, ignore_errors=True)
        one.mkdir()
        (one / name).symlink_to(csvs / name)
        t, c, w = time.perf_counter(), time.process_time(), _children_cpu()
        report = import_directory(factory, one, settings)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        worker = _children_cpu() - w  # a big file's second process (importer.parallel)
        f = report.files[0]
        if not f.stored:
            raise SystemExit(f"{name} was not stored: {f.errors[:5]}")
        results.append({"file": name, "rows": f.rows, "seconds": round(seconds, 2),
                        "cpu_seconds": round(cpu + worker, 2),
                        "worker_cpu_seconds": round(worker, 2),
                        "rows_per_s": round(f.rows / seconds) if seconds else None})
    engine.dispose()
    rows = sum(r["rows"] for r in results)
    seconds = sum(r["seconds"] for r in results)
    cpu = sum(r["cpu_seconds"] for r in results)
    # On a shared machine wall time follows the other processes' load; rows per CPU second
    # is what the import itself costs (the rate it would reach with a core to itself).
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.node()} {platform.machine()}", "cores": os.cpu_count(),
              "load_average_before": load_before, "load_average": os.getloadavg(),
              "database": engine.dialect.name,
              "import_parallel_rows": settings.import_parallel_rows,
              "files": results, "rows": rows,
              "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
              "rows_per_s": round(rows / seconds), "rows_per_cpu_s": round(rows / cpu)}
    out = args.out or Path(f"reports/import_speed-{engine.dialect.name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"{'file':<18}{'rows':>10}{'seconds':>10}{'CPU s':>9}{'rows/s':>9}")
    for r in results:
        print(f"{r['file']:<18}{r['rows']:>10,}{r['seconds']:>10}{r['cpu_seconds']:>9}"
              f"{r['rows_per_s']:>9,}")
    print(f"{'total':<18}{rows:>10,}{seconds:>10.1f}{cpu:>9.1f}{report['rows_per_s']:>9,}")
    print(f"rows per CPU second: {report['rows_per_cpu_s']:,}; load average before "
          f"{load_before[0]:.1f}, after {report['load_average'][0]:.1f}")
    print(f"database: {engine.dialect.name}; JSON: {out}")


if __name__ == "__main__":
    main()
