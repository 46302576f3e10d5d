"""`matchning fairness`, GET /api/v1/fairness and the unit admins' page: results per target
group, gender, age band and Swedish level (docs/fairness.md).

The live part ranks every waiting participant as `recommend` would (the stored nightly list
where it is current, the live matcher otherwise); the realised part reads the unit's ended
placements. The monitoring fields are read here and nowhere in the matching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from matchning.domain.vocab import Role
from matchning.errors import Forbidden, InvalidInput, ModelUnavailable, NotFound
from matchning.ml import fairness as F
from matchning.ml.history import labelled_rows
from matchning.services import precompute, recommendations
from matchning.services.context import Context
from matchning.storage.repositories import audit, precomputed, users
from matchning.storage.repositories import fairness as repo
from matchning.storage.tables import UnitRow

DEFAULT_K = 3
MAX_K = 20
DEFAULT_THRESHOLD = 0.8

# Where the live rates came from.
LIVE = "live"
STORED = "nattlistor"
MIXED = "nattlistor och live"
NO_MODEL = "ingen modell"


@dataclass
class FairnessReport:
    units: list[tuple[int, str]]   # (id, name) of the units covered
    k: int
    threshold: float
    min_group: int
    model_version: str | None
    source: str                    # LIVE, STORED, MIXED or NO_MODEL
    computed_at: datetime
    waiting: int                   # waiting participants
    placements: int                # ended placements
    groups: list[F.GroupResult] = field(default_factory=list)

    @property
    def flagged(self) -> list[F.GroupResult]:
        return [g for g in self.groups if g.flagged]


def _units(ctx: Context, unit_id: int | None) -> list[UnitRow]:
    """Unit admins: their own unit; system admins (and the CLI): one unit or all."""
    p = ctx.principal
    if p.is_system_admin:
        if unit_id is None:
            return list(ctx.session.scalars(users.units_query()))
        unit = ctx.session.get(UnitRow, unit_id)
        if unit is None:
            raise NotFound("Enheten finns inte.")
        return [unit]
    if p.role is not Role.unit_admin or p.unit_id is None:
        raise Forbidden("Bara enhetsadministratörer och systemadministratörer får se "
                        "rättviserapporten.")
    if unit_id is not None and unit_id != p.unit_id:
        raise NotFound("Enheten finns inte.")
    unit = ctx.session.get(UnitRow, p.unit_id)
    assert unit is not None
    return [unit]


def _check(k: int, threshold: float) -> None:
    problems = []
    if not 1 <= k <= MAX_K:
        problems.append({"field": "k", "message": f"k ska vara mellan 1 och {MAX_K}."})
    if not 0 < threshold <= 1:
        problems.append({"field": "threshold",
                         "message": "Tröskeln ska vara större än 0 och högst 1."})
    if problems:
        raise InvalidInput("Rapportens inställningar är inte giltiga.", details=problems)


def report(ctx: Context, unit_id: int | None = None, k: int = DEFAULT_K,
           threshold: float = DEFAULT_THRESHOLD) -> FairnessReport:
    """The report for one unit (or, for system admins, every unit when `unit_id` is None).
    Without an active model the live rates stay empty; the realised rates need none."""
    _check(k, threshold)
    units = _units(ctx, unit_id)
    try:
        loaded = recommendations._loaded(ctx)
    except ModelUnavailable:
        loaded = None
    people: list[dict[str, Any]] = []
    placements: list[pd.DataFrame] = []
    sources: set[str] = set()
    for unit in units:
        groups = repo.waiting_groups(ctx.session, unit.id)
        live = _live(ctx, loaded, unit, k, sources) if loaded is not None else {}
        for pid, g in groups.items():
            n, top = live.get(pid, (0, float("nan")))
            people.append({"participant_id": pid, **_group_columns(g, ctx.today.year),
                           "swedish_level": g["swedish_level"], "feasible": n >= k,
                           "top_score": top})
        placements.append(_ended(ctx, unit.id))
    people_frame = pd.DataFrame(people, columns=["participant_id", "target_group", "gender",
                                                 "age_band", "swedish_level", "feasible",
                                                 "top_score"])
    hist = pd.concat(placements, ignore_index=True) if placements else _ended_frame([])
    result = F.group_results(people_frame, hist, threshold=threshold, live=loaded is not None)
    out = FairnessReport(
        units=[(u.id, u.name) for u in units], k=k, threshold=threshold,
        min_group=F.MIN_GROUP, model_version=loaded.version if loaded else None,
        source=NO_MODEL if loaded is None else MIXED if len(sources) > 1
        else next(iter(sources), LIVE),
        computed_at=ctx.now(), waiting=len(people_frame), placements=len(hist),
        groups=result)
    scope = units[0].id if unit_id is not None else None
    audit.record(ctx.session, user_id=ctx.principal.user_id, action="fairness.read",
                 subject_type="unit", subject_id=scope if scope is not None else "*",
                 unit_id=scope, at=out.computed_at, model_version=out.model_version,
                 detail={"k": k, "threshold": threshold, "waiting": out.waiting,
                         "placements": out.placements,
                         "flagged": sorted({f"{g.dimension}:{g.group}" for g in out.flagged})})
    return out


def _group_columns(g: dict[str, Any], year: int) -> dict[str, Any]:
    return {"target_group": list(g.get("target_groups") or []), "gender": g.get("gender"),
            "age_band": F.age_band(g.get("birth_year"), year)}


def _live(ctx: Context, loaded: Any, unit: UnitRow, k: int, sources: set[str]
          ) -> dict[int, tuple[int, float]]:
    """Participant id -> (suggestions found, up to k; the top suggestion's score): from the
    current stored list where there is one, ranked live otherwise."""
    stored = _current_lists(ctx, unit.id, loaded.version, k)
    waiting = [w for w in precompute._waiting(ctx, unit) if w.participant_id not in stored]
    if stored:
        sources.add(STORED)
    if waiting:
        sources.add(LIVE)
    out = dict(stored)
    if waiting:
        prep = ctx.matcher.catalogue(ctx.session, loaded, ctx.ref)
        day = precompute.ScoringDay(ctx.today, ctx.ref)
        for pid, _sid, rank, score, _dist in precompute.rank_chunk(loaded, prep, day, k,
                                                                   waiting):
            n, top = out.get(pid, (0, score))
            out[pid] = (n + 1, score if rank == 1 else top)
    return out


def _current_lists(ctx: Context, unit_id: int, version: str, k: int
                   ) -> dict[int, tuple[int, float]]:
    """The stored lists that are current: computed today with the active model, by a run
    that stored at least k per participant (so a shorter list means fewer feasible)."""
    lists = precomputed.lists_for_unit(ctx.session, unit_id)
    run_k = max((s[-1].rank for s in lists.values() if s), default=0)
    if run_k < k:
        return {}
    today: date = ctx.today
    return {pid: (min(len(s), k), s[0].score) for pid, s in lists.items()
            if s and all(r.model_version == version and r.computed_at.date() == today
                         for r in s)}


def _ended(ctx: Context, unit_id: int) -> pd.DataFrame:
    return _ended_frame(repo.ended_placements(ctx.session, unit_id))


def _ended_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Ended placements with their groups and the realised flags, labelled as training
    labels them (an abort because the person got a job is a success with work)."""
    columns = ["participant_id", "target_group", "gender", "age_band", "swedish_level",
               "completed", "work_studies"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows)
    frame["employer_id"] = 0
    frame["snapshot"] = None
    labels = labelled_rows(frame).set_index("placement_id")
    return pd.DataFrame({
        "participant_id": frame["participant_id"],
        "target_group": [list(t or []) for t in frame["target_groups"]],
        "gender": frame["gender"],
        "age_band": [F.age_band(b, d.year) for b, d in
                     zip(frame["birth_year"], frame["proposed_on"], strict=True)],
        "swedish_level": frame["swedish_level"],
        "completed": labels["label"].reindex(frame["id"]).to_numpy(dtype=bool),
        "work_studies": labels["job"].reindex(frame["id"]).to_numpy(dtype=bool),
    }, columns=columns)


def as_json(report: FairnessReport) -> dict[str, Any]:
    """The report as plain data (API and `--json`): small groups' rates are already None."""
    return {
        "units": [{"id": i, "name": n} for i, n in report.units], "k": report.k,
        "threshold": report.threshold, "min_group": report.min_group,
        "model_version": report.model_version, "source": report.source,
        "computed_at": report.computed_at.isoformat(timespec="seconds"),
        "waiting": report.waiting, "placements": report.placements,
        "groups": [{"dimension": g.dimension, "group": g.group, "waiting": g.waiting,
                    "placements": g.placements,
                    "values": {m: _round(v) for m, v in g.values.items()},
                    "ratios": {m: _round(v) for m, v in g.ratios.items()},
                    "flagged": g.flagged, "uncertain": g.uncertain,
                    "suppressed": g.suppressed} for g in report.groups],
    }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)
