"""The evaluation report writes JSON, Markdown and PNGs for a small made-up result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from matchning.ml.report import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _result() -> dict:
    return {
        "split": {"train_until": "2026-05-01", "test_from": "2026-05-01",
                  "test_to": "2026-07-01", "train_placements": 120, "test_queries": 40},
        "systems": [
            {"system": "model", "ndcg@10": 0.41, "recall@10": 0.5, "mrr": 0.3,
             "rule_violations": 0, "coverage": 0.4, "brier": 0.2, "ece": 0.03, "queries": 40},
            {"system": "random_feasible", "ndcg@10": 0.12, "recall@10": 0.2, "mrr": 0.1,
             "rule_violations": 0, "coverage": 0.9, "brier": None, "ece": float("nan"),
             "queries": 40},
        ],
        "groups": {
            "target_group": [
                {"group": "ungdom", "system": "model", "queries": 15, "ndcg@10": 0.45,
                 "recall@10": 0.55, "mrr": 0.35},
                {"group": "nyanländ", "system": "model", "queries": 25, "ndcg@10": 0.33,
                 "recall@10": 0.44, "mrr": 0.25},
            ],
            "gender": [],
        },
        "group_gaps": {"target_group": {"ndcg@10": 0.12, "recall@10": 0.11, "mrr": 0.1}},
        "truth": {"queries": 200, "systems": [
            {"system": "model", "ndcg@10": 0.8, "mean_p@10": 0.4},
            {"system": "oracle", "ndcg@10": 1.0, "mean_p@10": 0.6},
        ]},
        "model": {"version": "2026-05-01T00:00", "estimator": "HistGradientBoosting"},
    }


def _reliability() -> dict[str, pd.DataFrame]:
    table = pd.DataFrame({"bin_lo": [0.0, 0.5], "bin_hi": [0.5, 1.0],
                          "mean_predicted": [0.2, 0.8], "observed_rate": [0.25, 0.7],
                          "count": [10, 5]})
    return {"model": table}


def test_write_report_files(tmp_path: Path) -> None:
    json_path, md_path = write_report(_result(), tmp_path / "out", _reliability())
    assert json_path == tmp_path / "out" / "evaluation.json"
    assert md_path == tmp_path / "out" / "evaluation.md"
    for name in ("evaluation_systems.png", "evaluation_reliability.png"):
        assert (tmp_path / "out" / name).read_bytes().startswith(PNG_MAGIC)

    md = md_path.read_text(encoding="utf-8")
    assert "| model | 40 | 0.410 | 0.500 | 0.300 | 0 | 0.400 | 0.200 | 0.030 |" in md
    assert "| random_feasible | 40 | 0.120 | 0.200 | 0.100 | 0 | 0.900 | – | – |" in md
    assert "| oracle | 1.000 | 0.600 |" in md  # truth table
    assert "| ungdom | model | 15 | 0.450 | 0.550 | 0.350 |" in md  # group table
    assert "| target_group | 0.120 | 0.110 | 0.100 |" in md  # gaps
    assert "| train_until | 2026-05-01 |" in md
    assert "![Systems](evaluation_systems.png)" in md
    assert "![Reliability](evaluation_reliability.png)" in md


def test_json_round_trips(tmp_path: Path) -> None:
    result = _result()
    json_path, _ = write_report(result, tmp_path)
    loaded = json.loads(json_path.read_text(encoding="utf-8"))
    # nan is written as null (strict JSON); everything else comes back unchanged
    result["systems"][1]["ece"] = None
    assert loaded == result
    assert "nyanländ" in json_path.read_text(encoding="utf-8")  # ensure_ascii=False


def test_without_reliability_or_truth(tmp_path: Path) -> None:
    result = _result()
    result["truth"] = None
    result["systems"][0]["ndcg@10"] = np.float32(0.5)  # numpy scalars are fine too
    json_path, md_path = write_report(result, tmp_path, stem="short")
    assert (tmp_path / "short_systems.png").read_bytes().startswith(PNG_MAGIC)
    assert not (tmp_path / "short_reliability.png").exists()
    md = md_path.read_text(encoding="utf-8")
    assert "oracle" not in md and "Reliability" not in md
    assert "| model | 40 | 0.500 |" in md
    assert json.loads(json_path.read_text(encoding="utf-8"))["systems"][0]["ndcg@10"] == 0.5
