"""Training the match model from the database's history, and saving it as a version."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pandas as pd

from matchning.domain.snapshot import SNAPSHOT_FIELDS, profile_snapshot
from matchning.ml import registry
from matchning.ml.dates import to_date
from matchning.ml.history import labelled_rows
from matchning.ml.model import MatchModel, fit_model
from matchning.ml.negatives import sample_negatives
from matchning.ml.rule_defs import RuleSettings
from matchning.services.context import Context
from matchning.services.units import DEFAULT_UNIT_SETTINGS
from matchning.storage.repositories import audit, history, models


@dataclass
class HistoryData:
    placements: pd.DataFrame
    feedback: pd.DataFrame
    slots: dict[int, dict[str, Any]]      # every slot, open or not
    profiles: dict[int, dict[str, Any]]   # today's snapshot of those _snapshots_at needs


def load_history(ctx: Context) -> HistoryData:
    placements = pd.DataFrame(history.placement_columns(ctx.session))
    if placements.empty:
        placements = pd.DataFrame(columns=["id", "participant_id", "slot_id", "employer_id",
                                           "status", "proposed_on", "decided_on",
                                           "started_on", "ended_on", "abort_reason",
                                           "outcome", "snapshot"])
    feedback = pd.DataFrame(history.feedback_history(ctx.session))
    # Today's profile only where a "passar inte" has no placement snapshot to fall back on
    # (loading all of them cost a minute and 2 GB at 400,000 participants).
    need = set() if feedback.empty else \
        set(feedback["participant_id"]) - set(placements["participant_id"])
    profiles = {pid: profile_snapshot(fields) for pid, fields in
                history.profile_fields(ctx.session, sorted(need), SNAPSHOT_FIELDS).items()}
    if not feedback.empty:
        feedback["created_on"] = [t.date() for t in feedback["created_at"]]
        feedback["snapshot"] = _snapshots_at(placements, feedback, profiles)
    slots = {s["id"]: s for s in history.slot_records(ctx.session)}
    return HistoryData(placements, feedback, slots, profiles)


def _snapshots_at(placements: pd.DataFrame, feedback: pd.DataFrame,
                  profiles: dict[int, dict]) -> list[dict]:
    """The profile as it was when the slot was marked: the snapshot of the participant's
    latest placement proposed by then, else their first one, else today's profile."""
    by_person: dict[int, list[tuple]] = defaultdict(list)
    for pid, day, snap in zip(placements["participant_id"], placements["proposed_on"],
                              placements["snapshot"], strict=True):
        by_person[int(pid)].append((day, snap))
    for v in by_person.values():
        v.sort(key=lambda t: t[0])
    out = []
    for pid, day in zip(feedback["participant_id"], feedback["created_on"], strict=True):
        snaps = by_person.get(int(pid))
        if not snaps:
            out.append(profiles[int(pid)])
            continue
        k = bisect_right([d for d, _ in snaps], day)
        out.append(snaps[max(k - 1, 0)][1])
    return out


def training_rows(data: HistoryData) -> pd.DataFrame:
    return labelled_rows(data.placements, data.feedback)


@dataclass
class TrainResult:
    version: str
    activated: bool
    info: dict[str, Any]


def fit_from_history(ctx: Context, rows: pd.DataFrame, data: HistoryData,
                     seed: int = 0) -> MatchModel:
    """The plain fit: labelled rows plus sampled negatives (see ml.negatives)."""
    unit = DEFAULT_UNIT_SETTINGS
    rules = RuleSettings(same_kommun_km=ctx.settings.same_kommun_distance_km)
    sampled = sample_negatives(rows, data.placements, data.feedback, data.slots, ctx.ref,
                               rules, rejection_days=int(unit["rejection_days"]),
                               recent_abort_days=int(unit["recent_abort_days"]), seed=seed)
    return fit_model(rows, data.slots, ctx.ref, random_state=seed, sampled=sampled,
                     same_kommun_km=ctx.settings.same_kommun_distance_km)


def version_metadata(model: MatchModel) -> dict[str, Any]:
    """What the registry stores beside a fitted model (DESIGN.md, "Models")."""
    info = model.info
    return {
        "training_window": {"from": to_date(info["window"]["first_day"]).isoformat(),
                            "to": to_date(info["window"]["last_day"]).isoformat()},
        "rows": {k: info[k] for k in ("rows", "positives", "placements", "feedback",
                                      "sampled_negatives")},
        "label": "1 = completed (or aborted because the participant got a job); 0 = aborted, "
                 "declined or marked \"passar inte\"; withdrawn and ongoing are left out",
        "features": info["features"], "estimator": info["estimator"],
        "validation": info["validation"],
        "hyper_parameters": {"estimator": repr(model.ranker.estimator),
                             "method": model.ranker.method,
                             "calibration_share": model.ranker.calibration_share},
    }


def active_version(ctx: Context) -> str | None:
    row = models.active_model(ctx.session)
    return row.version if row else None


def train(ctx: Context, *, activate_if_none: bool = True) -> TrainResult:
    """Fit on the whole history, save a version, make it active when none is."""
    data = load_history(ctx)
    rows = training_rows(data)
    model = fit_from_history(ctx, rows, data)
    meta = version_metadata(model)
    version = registry.save(model, ctx.settings.models_dir, meta)
    activated = False
    if activate_if_none and models.active_model(ctx.session) is None:
        models.activate(ctx.session, version, at=ctx.now(), by=ctx.principal.user_id or None,
                        action="train")
        audit.record(ctx.session, user_id=ctx.principal.user_id, action="model.train",
                     subject_type="model", subject_id=version, model_version=version)
        activated = True
    return TrainResult(version, activated, meta)
