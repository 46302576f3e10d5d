"""Allocation solve time at scale: 10,000 participants x 5,000 slots (docs/allocation.md).

    .venv/bin/python benchmarks/allocation.py --participants 10000 --slots 5000 --per 30

A synthetic problem shaped like a large unit (the solvers see only indices and scores, so no
database is needed): slots have 1 place (55 %), 2, 3, 4 or 5 like the demo world's; each
participant has `--per` feasible slots drawn from the slots near them (participants and slots
on a line of regions, so the pairs are local as the distance rules make them), with scores
from a Beta(2, 3) (the demo world's calibrated scores are centred near 0.4). Every method is
timed on the same problem (ml/allocation.py): independent top-1, greedy, the exact optimum
(sparse bipartite matching), entropic OT (sparse Sinkhorn), and with --floor the exact
optimum under a fairness floor over five target groups (the matching first; the MILP only
when the floor does not hold already; --planted 0.6 scales one group's scores so it binds).
Prints a table and writes JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from matchning.ml import allocation as A

GROUPS = ("ungdom", "långtidsarbetslös", "nyanländ", "rehabilitering", "försörjningsstöd")


def problem(n: int, m: int, per: int, seed: int, planted: float = 1.0) -> A.Problem:
    rng = np.random.default_rng(seed)
    capacity = rng.choice([1, 2, 3, 4, 5], size=m, p=[0.55, 0.2, 0.12, 0.08, 0.05])
    window = max(per * 4, m // 50)  # the slots within reach of a participant
    centre = rng.integers(0, m, size=n)
    offsets = np.array([rng.choice(window, per, replace=False) for _ in range(n)])
    si = ((centre[:, None] + offsets - window // 2) % m).ravel()
    pi = np.repeat(np.arange(n), per)
    score = rng.beta(2.0, 3.0, size=n * per)
    labels = rng.integers(0, len(GROUPS), size=n)
    groups = {g: np.flatnonzero(labels == k) for k, g in enumerate(GROUPS)}
    score = np.where(np.isin(pi, groups["nyanländ"]), score * planted, score)  # a disparity
    return A.Problem(n, capacity.astype(np.int64), pi.astype(np.int64), si.astype(np.int64),
                     score, groups)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--participants", type=int, default=10_000)
    ap.add_argument("--slots", type=int, default=5_000)
    ap.add_argument("--per", type=int, default=30, help="feasible slots per participant")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--floor", type=float, default=None, help="also the MILP with this floor")
    ap.add_argument("--planted", type=float, default=1.0,
                    help="scale one group's scores by this (< 1: a disparity the floor binds)")
    ap.add_argument("--out", type=Path, default=Path("reports"))
    args = ap.parse_args()
    with threadpool_limits(limits=1):
        t = time.perf_counter()
        p = problem(args.participants, args.slots, args.per, args.seed, args.planted)
        built = time.perf_counter() - t
        rows = []
        runs = [("top1", lambda: A.independent_top1(p)), ("greedy", lambda: A.greedy(p)),
                ("exact", lambda: A.solve_exact(p)), ("ot", lambda: A.solve_ot(p))]
        if args.floor is not None:
            runs.append((f"exact+floor {args.floor:g}",
                         lambda: A.solve_exact(p, fairness_floor=args.floor)))
        best = None
        for name, run in runs:
            t = time.perf_counter()
            plan = run()
            wall = time.perf_counter() - t
            assert not A.check_plan(p, plan.slot_of), name
            best = plan.value if name == "exact" else best
            means = A.group_means(p, plan.slot_of, {
                (int(i), int(j)): float(v) for i, j, v in zip(p.pi, p.si, p.score, strict=True)})
            rows.append({"method": name, "seconds": round(wall, 3), "value": round(plan.value, 2),
                         "placed": plan.placed,
                         "worst_group_ratio": round(min(means.values()) / max(means.values()),
                                                    3)})
    places = int(p.capacity.sum())
    print(f"{args.participants} deltagare x {args.slots} platser ({places} lediga platser), "
          f"{len(p.pi)} par; problemet byggt på {built:.2f} s")
    print(f"{'metod':<22}{'tid (s)':>10}{'summa p':>12}{'av exakt':>10}{'placerade':>11}"
          f"{'sämsta grupp/bästa':>20}")
    for r in rows:
        share = r["value"] / best if best else float("nan")
        print(f"{r['method']:<22}{r['seconds']:>10.2f}{r['value']:>12.2f}{share:>10.3f}"
              f"{r['placed']:>11}{r['worst_group_ratio']:>20.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "allocation_benchmark.json"
    out.write_text(json.dumps({
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "host": platform.node(),
        "python": platform.python_version(), "participants": args.participants,
        "slots": args.slots, "places": places, "pairs": len(p.pi), "seed": args.seed,
        "planted": args.planted, "floor": args.floor,
        "runs": rows}, ensure_ascii=False, indent=2))
    print(f"JSON: {out}")


if __name__ == "__main__":
    main()
