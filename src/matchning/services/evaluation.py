"""`matchning evaluate`: the evaluation protocol run on the current database."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from matchning.demo.truth import load_truth
from matchning.domain.snapshot import profile_snapshot
from matchning.domain.vocab import ParticipantStatus
from matchning.ml import evaluate as E
from matchning.ml.history import labelled_rows
from matchning.ml.rule_defs import PairHistory, RuleSettings
from matchning.services.context import Context
from matchning.services.training import load_history
from matchning.services.units import DEFAULT_UNIT_SETTINGS
from matchning.storage.repositories import history, models


def _rules(ctx: Context) -> RuleSettings:
    return RuleSettings(start_horizon_days=int(DEFAULT_UNIT_SETTINGS.get("start_horizon_days",
                                                                          60)),
                        reduced_hours_max=float(DEFAULT_UNIT_SETTINGS.get("reduced_hours_max",
                                                                           30)),
                        same_kommun_km=ctx.settings.same_kommun_distance_km)


def run(ctx: Context, *, truth_path: Path | None = None, with_lightfm: bool = True,
        seed: int = 0) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    inp = inputs(ctx, seed)
    result, reliability, _ = E.evaluate(inp, ctx.ref, with_lightfm=with_lightfm)
    active = models.active_model(ctx.session)
    result["model"]["active_version"] = active.version if active else None
    if truth_path is not None:
        result["truth"] = _truth(ctx, inp, truth_path, with_lightfm, seed)
    return result, reliability


def inputs(ctx: Context, seed: int = 0) -> E.EvalInputs:
    """The history as the evaluation protocol reads it."""
    data = load_history(ctx)
    rows = labelled_rows(data.placements, data.feedback)
    feedback = data.feedback[["participant_id", "slot_id", "created_on"]] \
        if len(data.feedback) else pd.DataFrame(columns=["participant_id", "slot_id",
                                                         "created_on"])
    inp = E.EvalInputs(
        rows=rows, placements=data.placements, feedback=feedback, slots=data.slots,
        rules=_rules(ctx), rejection_days=int(DEFAULT_UNIT_SETTINGS["rejection_days"]),
        recent_abort_days=int(DEFAULT_UNIT_SETTINGS["recent_abort_days"]),
        groups=history.monitoring_by_participant(ctx.session), seed=seed)
    return inp


def _truth(ctx: Context, inp: E.EvalInputs, path: Path, with_lightfm: bool, seed: int
           ) -> dict[str, Any]:
    """Waiting participants on the truth file's day against the open slots, scored by a
    model fitted on the whole history (as it would serve)."""
    frame, meta = load_truth(Path(path))
    today = date.fromisoformat(meta["today"])
    people_ids, slot_ids = history.ids_by_external(ctx.session)
    cand = frame[frame["kind"] == "candidate"]
    p = {(people_ids[a], slot_ids[b]): float(v) for a, b, v in
         zip(cand["participant_id"], cand["slot_id"], cand["p"], strict=True)
         if a in people_ids and b in slot_ids}
    waiting = history.participant_rows(ctx.session, status=ParticipantStatus.waiting.value)
    profiles = {w.id: profile_snapshot(w) for w in waiting}
    raw = history.pair_history(
        ctx.session, list(profiles),
        rejected_since=pd.Timestamp(today - timedelta(days=inp.rejection_days), tz="UTC"),
        aborted_since=today - timedelta(days=inp.recent_abort_days))
    hists = {pid: PairHistory(frozenset(h["blocked"]), frozenset(h["rejected"]),
                              frozenset(h["aborted"])) for pid, h in raw.items()}
    model = E.fit_with_negatives(inp, inp.rows, ctx.ref)
    lfm = None
    if with_lightfm:
        try:
            lfm = E.fit_lightfm(inp.rows, inp.slots, {("p", k): v for k, v in profiles.items()},
                                seed)
        except ImportError:
            lfm = None
    slots = history.slot_records(ctx.session, only_open=True)
    out = E.evaluate_truth(model, E.TruthInputs(profiles, hists, slots, p, today), inp.rules,
                           ctx.ref, lfm=lfm, seed=seed)
    out.update({"variant": meta.get("variant"), "day": today.isoformat(),
                "candidate_pairs": len(p), "file": str(path)})
    return out
