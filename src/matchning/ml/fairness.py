"""Results per group (docs/fairness.md): pure computation on frames, no I/O.

The groups come from the fairness-monitoring fields (gender, birth year), the target groups
and the Swedish level. None of them is a feature: this module only reads what the matching
produced (feasible suggestions and their scores) and what followed (the placement history),
and compares each group with the best group, the way the four-fifths rule does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ALPHA",
    "DIMENSIONS",
    "HISTORY_METRICS",
    "LIVE_METRICS",
    "MIN_GROUP",
    "GroupResult",
    "age_band",
    "group_results",
    "lower_p_value",
]

# Dimension key -> its Swedish label (also the column of the input frames).
DIMENSIONS = {"target_group": "Målgrupp", "gender": "Kön", "age_band": "Åldersgrupp",
              "swedish_level": "Svenskanivå"}
LIVE_METRICS = ("feasible_share", "top_score")          # over waiting participants
HISTORY_METRICS = ("completion_rate", "work_studies_rate")  # over ended placements
MIN_GROUP = 5  # below this many, a group's rates are withheld and the group is never flagged
ALPHA = 0.05   # significance level of a flag (Bonferroni over the report's comparisons)
UNKNOWN = "(okänt)"
NO_TARGET_GROUP = "(ingen)"
AGE_BANDS = ((25, "-24"), (35, "25-34"), (50, "35-49"))


def age_band(birth_year: Any, year: int) -> str:
    """The age band of someone born in `birth_year` during `year` (UNKNOWN without one)."""
    if birth_year is None or birth_year != birth_year:  # None or NaN
        return UNKNOWN
    age = year - int(birth_year)
    for below, label in AGE_BANDS:
        if age < below:
            return label
    return "50-"


@dataclass
class GroupResult:
    """One group of one dimension: its size, its rates, their ratio to the best group's, and
    which rates fall below the threshold (flagged) or were withheld as too few (suppressed)."""

    dimension: str
    group: str
    waiting: int        # waiting participants in the group
    placements: int     # ended placements of the group's participants
    values: dict[str, float | None] = field(default_factory=dict)
    ratios: dict[str, float | None] = field(default_factory=dict)
    flagged: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)  # below the threshold, not beyond chance
    suppressed: list[str] = field(default_factory=list)
    p_values: dict[str, float] = field(default_factory=dict)  # of the rates below threshold


def _share(y_true: np.ndarray, _y_pred: np.ndarray) -> float:
    return float(np.mean(y_true)) if len(y_true) else np.nan


def _finite_mean(_y_true: np.ndarray, y_pred: np.ndarray) -> float:
    v = np.asarray(y_pred, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else np.nan


def _second_share(_y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_pred)) if len(y_pred) else np.nan


def _by_group(frame: pd.DataFrame, dim: str, y_true: str, y_pred: str,
              metrics: dict[str, Callable]) -> pd.DataFrame:
    """fairlearn's MetricFrame over the groups of `dim`, with the group sizes in `n`."""
    from fairlearn.metrics import MetricFrame, count  # heavy import: only when asked

    if not len(frame):
        return pd.DataFrame(columns=[*metrics, "n"])
    mf = MetricFrame(metrics={**metrics, "n": count},
                     y_true=frame[y_true].to_numpy(dtype=float),
                     y_pred=frame[y_pred].to_numpy(dtype=float),
                     sensitive_features=frame[dim].astype(str).rename(dim))
    return mf.by_group


def _prepared(frame: pd.DataFrame, dim: str) -> pd.DataFrame:
    """The rows with the group of `dim` filled in (UNKNOWN, or NO_TARGET_GROUP for no target
    group). For target groups one row per (row, target group): someone in two target groups
    counts in both; every other dimension counts each row once."""
    if not len(frame):
        return pd.DataFrame(columns=[*frame.columns, *(d for d in DIMENSIONS
                                                       if d not in frame.columns)])
    out = frame.copy()
    if dim == "target_group":
        out["target_group"] = [list(v) if v else [NO_TARGET_GROUP]
                               for v in out["target_group"]]
        return out.explode("target_group")
    out[dim] = out[dim].fillna(UNKNOWN).astype(str)
    return out


def group_results(people: pd.DataFrame, placements: pd.DataFrame, *, threshold: float = 0.8,
                  min_group: int = MIN_GROUP, alpha: float = ALPHA, live: bool = True
                  ) -> list[GroupResult]:
    """Per dimension and group: the live rates over `people` (columns participant_id,
    target_group (list), gender, age_band, swedish_level, feasible (has at least k feasible
    suggestions), top_score (NaN without any)) and the realised rates over `placements`
    (the same group columns, completed, work_studies), each with its ratio to the best group
    of at least `min_group`. A rate is flagged when its ratio is below `threshold` and a
    one-sided test against the best group says it is lower beyond chance (level `alpha`,
    Bonferroni over every comparison of the report, so that a report of many groups does
    not flag by chance); below the threshold without that, it is marked uncertain. `live`
    False: no model was available, the live rates stay empty."""
    out: list[GroupResult] = []
    below: list[tuple[GroupResult, str, float]] = []
    compared = 0
    for dim in DIMENSIONS:
        live_frame, hist_frame = _prepared(people, dim), _prepared(placements, dim)
        live_tab = _by_group(live_frame, dim, "feasible", "top_score",
                             {"feasible_share": _share, "top_score": _finite_mean})
        hist_tab = _by_group(hist_frame, dim, "completed", "work_studies",
                             {"completion_rate": _share, "work_studies_rate": _second_share})
        groups = sorted(set(live_tab.index) | set(hist_tab.index), key=_group_order)
        rows = {g: GroupResult(dim, str(g), _n(live_tab, g), _n(hist_tab, g)) for g in groups}
        samples = {
            "feasible_share": _samples(live_frame, dim, "feasible"),
            "top_score": _samples(live_frame, dim, "top_score"),
            "completion_rate": _samples(hist_frame, dim, "completed"),
            "work_studies_rate": _samples(hist_frame, dim, "work_studies"),
        }
        for metric in (LIVE_METRICS if live else ()):
            compared += _fill(rows, live_tab, metric, "waiting", samples[metric], threshold,
                              min_group, below)
        for metric in HISTORY_METRICS:
            compared += _fill(rows, hist_tab, metric, "placements", samples[metric],
                              threshold, min_group, below)
        for r in rows.values():
            if not live:
                r.values.update(dict.fromkeys(LIVE_METRICS))
                r.ratios.update(dict.fromkeys(LIVE_METRICS))
        out += rows.values()
    for r, metric, p in below:
        r.p_values[metric] = p
        (r.flagged if p * max(compared, 1) < alpha else r.uncertain).append(metric)
    return out


def _samples(frame: pd.DataFrame, dim: str, column: str) -> dict[str, np.ndarray]:
    """Group -> its finite values of `column` (what the significance test compares)."""
    if not len(frame):
        return {}
    out = {}
    for g, part in frame.groupby(dim):
        v = part[column].to_numpy(dtype=float)
        out[str(g)] = v[np.isfinite(v)]
    return out


def lower_p_value(metric: str, group: np.ndarray, best: np.ndarray) -> float:
    """One-sided p-value that `group`'s rate (or mean score) is below `best`'s: Fisher's
    exact test for the shares, Welch's t-test for the mean top score."""
    from scipy import stats

    if len(group) == 0 or len(best) == 0:
        return 1.0
    if metric == "top_score":
        if len(group) < 2 or len(best) < 2:
            return 1.0
        p = stats.ttest_ind(group, best, equal_var=False, alternative="less").pvalue
        return float(p) if np.isfinite(p) else 1.0
    a, b = int(group.sum()), int(best.sum())
    table = [[a, len(group) - a], [b, len(best) - b]]
    return float(stats.fisher_exact(table, alternative="less").pvalue)


def _n(tab: pd.DataFrame, group: Any) -> int:
    return int(tab.loc[group, "n"]) if group in tab.index else 0


def _group_order(group: Any) -> tuple[int, str]:
    """Named groups first, alphabetically; the unknown and none last."""
    return (str(group) in (UNKNOWN, NO_TARGET_GROUP), str(group))


def _fill(rows: dict[Any, GroupResult], tab: pd.DataFrame, metric: str, size_attr: str,
          samples: dict[str, np.ndarray], threshold: float, min_group: int,
          below: list[tuple[GroupResult, str, float]]) -> int:
    """Values and ratios of `metric` into `rows`; the rates below the threshold, with their
    p-values, onto `below`. Returns how many groups were compared with the best."""
    values = {g: _value(tab, g, metric) for g in rows}
    # How many people a value rests on: the mean top score only on those with a suggestion.
    size = {g: len(samples.get(str(g), ())) if metric == "top_score"
            else getattr(r, size_attr) for g, r in rows.items()}
    eligible = {g: v for g, v in values.items() if v is not None and size[g] >= min_group}
    best_group = max(eligible, key=lambda g: eligible[g]) if eligible else None
    best = eligible.get(best_group) if best_group is not None else None
    for g, r in rows.items():
        v = values[g]
        if size[g] < min_group:  # withheld everywhere: nobody is singled out
            if size[g] > 0:
                r.suppressed.append(metric)
            r.values[metric] = r.ratios[metric] = None
            continue
        ratio = v / best if v is not None and best else None
        r.values[metric], r.ratios[metric] = v, ratio
        if ratio is None or ratio >= threshold:
            continue
        below.append((r, metric, lower_p_value(metric, samples.get(str(g), np.zeros(0)),
                                               samples.get(str(best_group), np.zeros(0)))))
    return max(len(eligible) - 1, 0)


def _value(tab: pd.DataFrame, group: Any, metric: str) -> float | None:
    if group not in tab.index:
        return None
    v = float(tab.loc[group, metric])
    return v if np.isfinite(v) else None
