"""The evaluation protocol (docs/evaluation.md): a time-based split of the placement history,
each test placement a query over the slots that were open and passed the rules on its
proposal day, for its profile snapshot; the model and the baselines side by side."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matchning.errors import InsufficientData
from matchning.ml import metrics as M
from matchning.ml.catalog import SlotMatrix
from matchning.ml.dates import to_date
from matchning.ml.model import MatchModel, fit_model, pair_distances
from matchning.ml.negatives import sample_negatives
from matchning.ml.profiles import ProfileMatrix
from matchning.ml.rule_defs import PairHistory, RuleDay, RuleSettings
from matchning.ml.rules import feasible_slots
from matchning.ml.rules_check import check_pair
from matchning.ml.systems import Query, baseline_systems, lightfm_scores, model_scores
from matchning.ml.timeline import Timeline
from matchning.reference import ReferenceData

K = 10
TEST_SHARE = 0.2
GROUP_MIN_QUERIES = 10


@dataclass
class EvalInputs:
    rows: pd.DataFrame                 # history.labelled_rows
    placements: pd.DataFrame           # all placements (history.PLACEMENT_COLUMNS + started_on)
    feedback: pd.DataFrame             # participant_id, slot_id, created_on
    slots: dict[int, dict[str, Any]]   # every slot
    rules: RuleSettings
    rejection_days: int = 90
    recent_abort_days: int = 180
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)  # participant -> attrs
    seed: int = 0


@dataclass
class SystemResult:
    per_query: pd.DataFrame            # key, participant_id, ndcg, recall, rr
    tops: list[np.ndarray]
    violations: int


def split_day(rows: pd.DataFrame, test_share: float = TEST_SHARE) -> int:
    placed = rows[rows["source"] == "placement"]["day"].to_numpy()
    if not len(placed):  # no history at all: say so, not numpy's IndexError
        raise InsufficientData()
    return int(np.quantile(placed, 1.0 - test_share, method="lower")) + 1


def build_queries(model: MatchModel, inp: EvalInputs, test: pd.DataFrame, ref: ReferenceData
                  ) -> tuple[list[Query], SlotMatrix, dict]:
    """One query per test placement, with the candidates that passed the rules that day."""
    ids = sorted(inp.slots)
    base = SlotMatrix.from_records([{**inp.slots[i], "status": "open"} for i in ids],
                                   ref).indexed()
    prep = model.prepare(base)
    timeline = Timeline(inp.placements, inp.feedback, inp.slots, ids)
    pos = timeline.pos
    grades: dict[int, dict[int, int]] = defaultdict(dict)
    for pid, sid, g in zip(test["participant_id"], test["slot_id"], test["grade"], strict=True):
        grades[int(pid)][int(sid)] = max(int(g), grades[int(pid)].get(int(sid), 0))
    queries, contexts = [], {}
    target_feasible = 0
    for row in test.itertuples():
        day, pid = int(row.day), int(row.participant_id)
        remaining = timeline.remaining_at(day)
        S = dataclasses.replace(prep.slots, remaining=remaining)
        hist = timeline.history_at(pid, day, inp.rejection_days, inp.recent_abort_days)
        rday = RuleDay(to_date(day), inp.rules)
        ok = feasible_slots(row.snapshot, S, hist, rday, ref)
        idx = ok.idx
        target_feasible += bool(np.isin(pos[int(row.slot_id)], idx))
        P = ProfileMatrix.from_records([row.snapshot], ref)
        X = model.features(P, model.encode_profiles(P), dataclasses.replace(prep, slots=S),
                           np.zeros(len(idx), dtype=np.int64), idx, ok.distance_km, ref)
        g = grades[pid]
        gains = np.array([g.get(int(base.ids[i]), 0) for i in idx], dtype=float)
        queries.append(Query(int(row.placement_id), pid, day, row.snapshot, base.ids[idx], X,
                             gains))
        contexts[int(row.placement_id)] = (hist, rday, remaining)
    stats = {"target_feasible": target_feasible, "queries": len(queries)}
    return queries, base, {"contexts": contexts, "stats": stats, "pos": pos}


def run_system(score: Callable[[Query], np.ndarray], queries: list[Query],
               check: Callable[[Query, np.ndarray], int] | None = None) -> SystemResult:
    records, tops, violations = [], [], 0
    for q in queries:
        s = score(q)
        top = M.top_k(s, K) if len(s) else np.zeros(0, dtype=np.int64)
        tops.append(q.slot_ids[top])
        if check is not None:
            violations += check(q, q.slot_ids[top])
        relevant = q.gains >= 1
        records.append({"key": q.key, "participant_id": q.participant_id,
                        "ndcg": M.ndcg_at_k(s, q.gains, K) if len(s) else np.nan,
                        "recall": M.recall_at_k(s, relevant, K) if len(s) else np.nan,
                        "rr": M.reciprocal_rank(s, relevant) if len(s) else np.nan,
                        "mean_gain": float(q.gains[top].mean()) if len(top) else np.nan})
    return SystemResult(pd.DataFrame(records), tops, violations)


def summarise(res: SystemResult) -> dict[str, float]:
    """Per participant first (mean over their queries), then over participants."""
    per = res.per_query.groupby("participant_id")[["ndcg", "recall", "rr"]].mean()
    return {"ndcg@10": _mean(per["ndcg"]), "recall@10": _mean(per["recall"]),
            "mrr": _mean(per["rr"]), "participants": int(per["ndcg"].notna().sum())}


def _mean(s: pd.Series) -> float | None:
    v = s.dropna()
    return float(v.mean()) if len(v) else None


def violation_checker(inp: EvalInputs, ctx: dict, ref: ReferenceData):
    def check(q: Query, top_ids: np.ndarray) -> int:
        hist, rday, remaining = ctx["contexts"][q.key]
        n = 0
        for sid in top_ids:
            rec = {**inp.slots[int(sid)], "status": "open",
                   "remaining": int(remaining[ctx["pos"][int(sid)]])}
            n += bool(check_pair(q.profile, rec, hist, rday, ref))
        return n
    return check


def calibration(model: MatchModel, test: pd.DataFrame, slots: Mapping[int, dict],
                ref: ReferenceData) -> tuple[dict[str, float], pd.DataFrame]:
    """Brier, ECE and the reliability table of the model's score on the test placements."""
    ids = sorted({int(s) for s in test["slot_id"]})
    S = SlotMatrix.from_records([slots[i] for i in ids], ref)
    prep = model.prepare(S)
    P = ProfileMatrix.from_records(list(test["snapshot"]), ref)
    pos = {s: k for k, s in enumerate(ids)}
    pi = np.arange(len(test))
    si = np.array([pos[int(s)] for s in test["slot_id"]], dtype=np.int64)
    X = model.features(P, model.encode_profiles(P), prep, pi, si,
                       pair_distances(P, S, pi, si, model.same_kommun_km), ref)
    p = model.predict(X)
    y = test["label"].to_numpy()
    return ({"brier": M.brier_score(y, p), "ece": M.expected_calibration_error(y, p),
             "test_placements": len(y), "mean_score": float(p.mean()),
             "completion_rate": float(y.mean())},
            M.reliability_table(y, p))


def group_metrics(results: dict[str, SystemResult], queries: list[Query],
                  groups: dict[int, dict[str, Any]]) -> tuple[dict, dict]:
    """Metrics per group (target group, gender, age band, Swedish level) and the gap between
    the best and worst group with at least GROUP_MIN_QUERIES queries (the model's)."""
    attrs = []
    for q in queries:
        g = groups.get(q.participant_id, {})
        age = None
        if g.get("birth_year"):
            years = to_date(q.day).year - int(g["birth_year"])
            age = "-24" if years < 25 else "25-34" if years < 35 else "35-49" if years < 50 \
                else "50-"
        attrs.append({"key": q.key, "target_group": g.get("target_groups") or ["(ingen)"],
                      "gender": g.get("gender") or "(okänt)", "age_band": age or "(okänt)",
                      "swedish_level": q.profile.get("swedish_level") or "(okänt)"})
    frame = pd.DataFrame(attrs).explode("target_group")
    out: dict[str, list] = {}
    gaps: dict[str, dict] = {}
    for attr in ("target_group", "gender", "age_band", "swedish_level"):
        rows = []
        for name, res in results.items():
            joined = frame[["key", attr]].merge(res.per_query, on="key")
            for value, part in joined.groupby(attr):
                rows.append({"group": str(value), "system": name, "queries": len(part),
                             "ndcg@10": _mean(part["ndcg"]), "recall@10": _mean(part["recall"]),
                             "mrr": _mean(part["rr"])})
        out[attr] = rows
        model_rows = [r for r in rows if r["system"] == "model"
                      and r["queries"] >= GROUP_MIN_QUERIES and r["ndcg@10"] is not None]
        gaps[attr] = {m: (max(r[m] for r in model_rows) - min(r[m] for r in model_rows))
                      if len(model_rows) >= 2 and all(r[m] is not None for r in model_rows)
                      else None for m in ("ndcg@10", "recall@10", "mrr")}
    return out, gaps


def fit_lightfm(rows: pd.DataFrame, slots: Mapping[int, dict], extra_users: dict[Any, dict],
                seed: int):
    """LightFM hybrid on the positive rows (grade ≥ 1); `extra_users` are the query users
    scored from their features alone."""
    from matchning.ml.baselines_lightfm import LightFMHybrid, profile_tokens, slot_tokens
    pos = rows[rows["grade"] >= 1]
    latest = rows.groupby("participant_id")["snapshot"].last()
    users = {("p", int(pid)): profile_tokens(snap) for pid, snap in latest.items()}
    users.update({k: profile_tokens(v) for k, v in extra_users.items()})
    items = {int(i): slot_tokens(s) for i, s in slots.items()}
    interactions = [(("p", int(p)), int(s), float(g)) for p, s, g in
                    zip(pos["participant_id"], pos["slot_id"], pos["grade"], strict=True)]
    return LightFMHybrid(random_state=seed).fit(interactions, users, items)


def fit_with_negatives(inp: EvalInputs, rows: pd.DataFrame, ref: ReferenceData
                       ) -> MatchModel:
    """The model as `matchning train` fits it, on `rows` (sampled negatives included)."""
    sampled = sample_negatives(rows, inp.placements, inp.feedback, inp.slots, ref, inp.rules,
                               rejection_days=inp.rejection_days,
                               recent_abort_days=inp.recent_abort_days, seed=inp.seed)
    return fit_model(rows, inp.slots, ref, same_kommun_km=inp.rules.same_kommun_km,
                     random_state=inp.seed, sampled=sampled)


def window(rows: pd.DataFrame) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    """(first test day, training rows known before it, test placements proposed from it)."""
    cut = split_day(rows)
    return (cut, rows[rows["known_day"] < cut],
            rows[(rows["source"] == "placement") & (rows["day"] >= cut)])


def score_model(model: MatchModel, inp: EvalInputs, test: pd.DataFrame, ref: ReferenceData
                ) -> dict[str, Any]:
    """One model's metrics on the test window (the promotion gate compares two of these)."""
    queries, _, ctx = build_queries(model, inp, test, ref)
    res = run_system(model_scores(model), queries, violation_checker(inp, ctx, ref))
    catalogue = set().union(*(set(q.slot_ids.tolist()) for q in queries)) if queries else set()
    cal, _ = calibration(model, test, inp.slots, ref)
    return {**summarise(res), "rule_violations": res.violations,
            "coverage": M.catalogue_coverage([t.tolist() for t in res.tops], catalogue),
            "brier": cal["brier"], "ece": cal["ece"], "queries": len(queries)}


def evaluate(inp: EvalInputs, ref: ReferenceData, *, with_lightfm: bool = True
             ) -> tuple[dict[str, Any], dict[str, pd.DataFrame], MatchModel]:
    """The historical evaluation. Returns the result dict, reliability tables and the model
    fitted on the training window."""
    cut, train, test = window(inp.rows)
    model = fit_with_negatives(inp, train, ref)
    queries, _, ctx = build_queries(model, inp, test, ref)
    systems = {"model": model_scores(model), **baseline_systems(inp.seed)}
    notes = {}
    if with_lightfm:
        try:
            lfm = fit_lightfm(train, inp.slots, {("q", q.key): q.profile for q in queries},
                              inp.seed)
            systems["lightfm_hybrid"] = lightfm_scores(lfm, lambda q: ("q", q.key))
        except ImportError as exc:
            notes["lightfm_hybrid"] = str(exc)
    check = violation_checker(inp, ctx, ref)
    results = {name: run_system(fn, queries, check) for name, fn in systems.items()}
    catalogue = set().union(*(set(q.slot_ids.tolist()) for q in queries)) if queries else set()
    cal, reliability = calibration(model, test, inp.slots, ref)
    table = []
    for name, res in results.items():
        entry = {"system": name, **summarise(res), "rule_violations": res.violations,
                 "coverage": M.catalogue_coverage([t.tolist() for t in res.tops], catalogue),
                 "queries": len(queries)}
        if name == "model":
            entry.update({"brier": cal["brier"], "ece": cal["ece"]})
        table.append(entry)
    groups, gaps = group_metrics(results, queries, inp.groups)
    result = {
        "split": {"train_until": to_date(cut - 1).isoformat(),
                  "test_from": to_date(cut).isoformat(),
                  "test_to": to_date(int(test["day"].max())).isoformat() if len(test) else None,
                  "train_rows": len(train), "test_placements": len(test),
                  "test_queries": len(queries),
                  "test_participants": int(test["participant_id"].nunique()),
                  "target_slot_feasible": ctx["stats"]["target_feasible"]},
        "systems": table, "groups": groups, "group_gaps": gaps, "calibration": cal,
        "model": {"estimator": model.info["estimator"], "validation": model.info["validation"]},
        "notes": notes, "truth": None,
    }
    return result, {"model": reliability}, model


@dataclass
class TruthInputs:
    """Waiting participants today, the open slots, and the generator's true probabilities."""

    profiles: dict[int, dict]              # participant id -> current profile
    histories: dict[int, PairHistory]
    slots: list[dict[str, Any]]            # open slots with `remaining`
    p: dict[tuple[int, int], float]        # (participant id, slot id) -> true p
    today: Any


def evaluate_truth(model: MatchModel, truth: TruthInputs, rules: RuleSettings,
                   ref: ReferenceData, lfm=None, seed: int = 0) -> dict[str, Any]:
    """NDCG@10 against the true probabilities for waiting participants, and the mean true
    probability of each system's top 10 beside the oracle's (the limit)."""
    S = SlotMatrix.from_records(truth.slots, ref).indexed()
    prep = model.prepare(S)
    day = RuleDay(truth.today, rules)
    queries = []
    for pid, profile in truth.profiles.items():
        ok = feasible_slots(profile, S, truth.histories[pid], day, ref)
        gains = np.array([truth.p.get((pid, int(S.ids[i])), np.nan) for i in ok.idx])
        known = ~np.isnan(gains)
        idx, gains, dist = ok.idx[known], gains[known], ok.distance_km[known]
        if len(idx) == 0:
            continue
        P = ProfileMatrix.from_records([profile], ref)
        X = model.features(P, model.encode_profiles(P), prep,
                           np.zeros(len(idx), dtype=np.int64), idx, dist, ref)
        queries.append(Query(pid, pid, 0, profile, S.ids[idx], X, gains))
    systems = {"model": model_scores(model), **baseline_systems(seed)}
    if lfm is not None:
        systems["lightfm_hybrid"] = lightfm_scores(lfm, lambda q: ("p", q.participant_id))
    systems["oracle"] = lambda q: q.gains
    rows = []
    for name, fn in systems.items():
        res = run_system(fn, queries)
        rows.append({"system": name, "ndcg@10": _mean(res.per_query["ndcg"]),
                     "mean_p@10": _mean(res.per_query["mean_gain"]),
                     "coverage": M.catalogue_coverage([t.tolist() for t in res.tops],
                                                      S.ids.tolist())})
    return {"queries": len(queries), "systems": rows}
