"""Evaluation report for developers: the result as JSON, a Markdown summary and two plots."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: servers and CI have no display

import matplotlib.pyplot as plt  # after matplotlib.use, so pyplot picks Agg
import numpy as np
import pandas as pd

__all__ = ["write_report"]

MAIN_METRICS = ["ndcg@10", "recall@10", "mrr"]
SYSTEM_COLUMNS = ["system", "queries", "ndcg@10", "recall@10", "mrr", "rule_violations",
                  "coverage", "brier", "ece"]
GROUP_COLUMNS = ["group", "system", "queries", "ndcg@10", "recall@10", "mrr"]
DASH = "–"


def _jsonable(value: Any) -> Any:
    """nan -> None (strict JSON has no NaN) and numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {key: _jsonable(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _cell(value: Any) -> str:
    if _is_missing(value):
        return DASH
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.3f}"
    return str(value).replace("|", "\\|")  # a pipe would split the Markdown cell


def _table(rows: list[dict], columns: list[str] | None = None) -> list[str]:
    if not rows:
        return ["_(no rows)_"]
    if columns is None:  # keep first-seen key order across rows
        columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return lines


def _present_columns(rows: list[dict], preferred: list[str]) -> list[str]:
    """Preferred columns that occur, then any extra keys, so nothing is silently dropped."""
    seen = list(dict.fromkeys(key for row in rows for key in row))
    return [c for c in preferred if c in seen] + [c for c in seen if c not in preferred]


def _plot_systems(systems: list[dict], path: Path) -> None:
    names = [str(s.get("system")) for s in systems]
    x = np.arange(len(names))
    width = 0.8 / len(MAIN_METRICS)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(names) + 2), 4))
    try:
        for i, metric in enumerate(MAIN_METRICS):
            # Missing values are drawn as 0-height bars so the groups stay aligned.
            values = [0.0 if _is_missing(s.get(metric)) else float(s[metric]) for s in systems]
            ax.bar(x + (i - (len(MAIN_METRICS) - 1) / 2) * width, values, width, label=metric)
        ax.set_xticks(x, names, rotation=20, ha="right")
        ax.set_ylim(0, 1)
        ax.set_ylabel("score")
        ax.set_title("Systems on the test window")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def _plot_reliability(reliability: dict[str, pd.DataFrame], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    try:
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
        for name, table in reliability.items():
            if len(table):
                ax.plot(table["mean_predicted"], table["observed_rate"], marker="o", label=name)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed rate")
        ax.set_title("Reliability")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)


def _markdown(result: dict, stem: str, has_reliability: bool) -> str:
    lines = [f"# Evaluation report: {stem}", ""]
    split = result.get("split") or {}
    if split:
        lines += ["## Split", "", *_table([{"key": k, "value": v} for k, v in split.items()]),
                  ""]
    systems = result.get("systems") or []
    lines += ["## Systems", "", *_table(systems, _present_columns(systems, SYSTEM_COLUMNS)), "",
              f"![Systems]({stem}_systems.png)", ""]
    truth = result.get("truth")
    if truth:
        lines += ["## Against the simulated truth", "",
                  f"Queries: {_cell(truth.get('queries'))}", "",
                  *_table(truth.get("systems") or []), ""]
    if has_reliability:
        lines += ["## Calibration", "", f"![Reliability]({stem}_reliability.png)", ""]
    groups = result.get("groups") or {}
    if groups:
        lines += ["## Groups", ""]
        for attribute, rows in groups.items():
            lines += [f"### {attribute}", "",
                      *_table(rows or [], _present_columns(rows or [], GROUP_COLUMNS)), ""]
    gaps = result.get("group_gaps") or {}
    if gaps:
        rows = [{"attribute": attr, **(vals or {})} for attr, vals in gaps.items()]
        lines += ["## Group gaps", "", *_table(rows), ""]
    model = result.get("model")
    if model:
        lines += ["## Model", "", *_table([{"key": k, "value": v} for k, v in model.items()]),
                  ""]
    return "\n".join(lines)


def write_report(
    result: dict,
    out_dir: Path,
    reliability: dict[str, pd.DataFrame] | None = None,
    stem: str = "evaluation",
) -> tuple[Path, Path]:
    """Write `{stem}.json`, `{stem}.md` and the PNG plots into out_dir; return (json, md)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{stem}.json"
    md_path = out_dir / f"{stem}.md"
    text = json.dumps(_jsonable(result), ensure_ascii=False, indent=2, default=str,
                      allow_nan=False)
    json_path.write_text(text, encoding="utf-8")
    _plot_systems(result.get("systems") or [], out_dir / f"{stem}_systems.png")
    has_reliability = bool(reliability)
    if has_reliability:
        _plot_reliability(reliability, out_dir / f"{stem}_reliability.png")
    md_path.write_text(_markdown(result, stem, has_reliability), encoding="utf-8")
    return json_path, md_path
