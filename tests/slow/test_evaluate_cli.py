"""`matchning evaluate` on a small demo world, as CI runs it: the model must beat random and
TF-IDF on NDCG@10 with no rule violations, against history and against the true
probabilities of the generator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent / "matchning"


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@pytest.mark.parametrize("variant", ["default", "alt"])
def test_evaluate_small_world(tmp_path: Path, variant: str) -> None:
    env = {**os.environ, "MATCHNING_DATA_DIR": str(tmp_path / "data"),
           "MATCHNING_MODELS_DIR": str(tmp_path / "models")}
    env.pop("MATCHNING_DATABASE_URL", None)
    truth = tmp_path / "truth.npz"
    _run(["init-db"], env)
    _run(["demo", "--participants", "600", "--employers", "150", "--slots", "400",
          "--months", "18", "--today", "2026-11-01", "--variant", variant,
          "--truth", str(truth)], env)
    out = _run(["evaluate", "--json", "--truth", str(truth), "--out",
                str(tmp_path / "reports")], env)
    result = json.loads(out.strip().splitlines()[-1])
    systems = {s["system"]: s for s in result["systems"]}
    assert "lightfm_hybrid" in systems, result.get("notes")
    assert all(s["rule_violations"] == 0 for s in systems.values())
    model = systems["model"]
    assert model["ndcg@10"] > systems["random_feasible"]["ndcg@10"]
    assert model["ndcg@10"] > systems["tfidf_text"]["ndcg@10"]
    assert 0.0 <= model["brier"] <= 0.3 and 0.0 <= model["ece"] <= 0.15
    truth_rows = {s["system"]: s for s in result["truth"]["systems"]}
    assert truth_rows["model"]["ndcg@10"] > truth_rows["random_feasible"]["ndcg@10"]
    assert truth_rows["model"]["ndcg@10"] > truth_rows["tfidf_text"]["ndcg@10"]
    assert truth_rows["oracle"]["mean_p@10"] >= truth_rows["model"]["mean_p@10"]
    for name in ("evaluation.json", "evaluation.md", "evaluation_systems.png",
                 "evaluation_reliability.png"):
        assert (tmp_path / "reports" / name).is_file()
