"""How much history the model needs: test quality against the size of the training window.

    .venv/bin/python benchmarks/learning_curve.py \
        --database-url sqlite:////tmp/train100k/world.sqlite3 --sizes 25000 50000 100000 0

The newest 20 % of the labelled placements (by proposal day) are the test set. For each size N
the model is fitted as `matchning train` fits it (sampled negatives, every family, calibration)
on the N most recent labelled rows known before the test period (0: all of them), and judged
on the test set: ROC AUC of the score on the real test placements (completed against failed)
and the ranking AUC against sampled unchosen feasible slots of the same days (what orders a
list). This is the evidence behind `ml.model.MAX_TRAINING_ROWS`. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.ml.features import Substitutes
from matchning.ml.model import fit_model, training_matrix
from matchning.ml.negatives import sample_negatives
from matchning.ml.rule_defs import RuleSettings
from matchning.reference import get_reference
from matchning.services import training
from matchning.services.context import Context
from matchning.storage.db import make_engine, make_session_factory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000, 0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("reports/learning_curve.json"))
    args = ap.parse_args()
    ref = get_reference()
    engine = make_engine(args.database_url)
    settings = Settings(database_url=args.database_url, models_dir=Path("/tmp"))
    with make_session_factory(engine)() as session:
        data = training.load_history(Context(session=session, principal=SYSTEM,
                                             settings=settings))
    engine.dispose()
    rows = training.training_rows(data)
    real = rows[rows["source"] == "placement"]
    cut = int(np.percentile(real["day"], 80))
    test = real[real["day"] >= cut].reset_index(drop=True)
    known = rows[rows["known_day"] < cut].reset_index(drop=True)
    rules = RuleSettings()
    test_neg = sample_negatives(test, data.placements, data.feedback, data.slots, ref, rules,
                                per_row=4, seed=args.seed + 1)
    judged = pd.concat([test, test_neg], ignore_index=True)
    results = []
    for size in args.sizes:
        window = known if size == 0 or size >= len(known) else known.iloc[-size:]
        t = time.perf_counter()
        sampled = sample_negatives(window, data.placements, data.feedback, data.slots, ref,
                                   rules, seed=args.seed)
        model = fit_model(window.reset_index(drop=True), data.slots, ref,
                          random_state=args.seed, sampled=sampled)
        seconds = time.perf_counter() - t
        X = training_matrix(judged, data.slots, model.vectorisers, model.employer_stats, ref,
                            model.same_kommun_km, Substitutes(ref)).X
        real_part = (judged["source"] == "placement").to_numpy()
        y = judged["label"].to_numpy()
        p = model.predict(X[real_part])
        raw = model.raw_score(X)
        results.append({
            "training_rows": len(window), "sampled": len(sampled),
            "fit_seconds": round(seconds, 1), "estimator": model.info["estimator"],
            "test_auc": round(float(roc_auc_score(y[real_part], p)), 4),
            "test_ranking_auc": round(float(roc_auc_score(y, raw)), 4)})
        print(results[-1], flush=True)
    out = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
           "database": args.database_url, "labelled_before_test": len(known),
           "test_placements": len(test), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"{'rows':>9}{'sampled':>9}{'fit s':>8}{'test AUC':>10}{'ranking AUC':>13}  estimator")
    for r in results:
        print(f"{r['training_rows']:>9,}{r['sampled']:>9,}{r['fit_seconds']:>8}"
              f"{r['test_auc']:>10}{r['test_ranking_auc']:>13}  {r['estimator']}")


if __name__ == "__main__":
    main()
