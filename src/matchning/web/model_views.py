"""What the model pages show of a version's metadata and of a retrain run, in Swedish.

Pure functions over what services.model_admin returns; no queries here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from matchning.services.model_admin import VersionView

MODEL = "model"
SYSTEM_NAMES = {
    "model": "Modellen",
    "random_feasible": "Slumpvis bland möjliga",
    "nearest_feasible": "Närmast först",
    "wished_then_nearest": "Önskat yrke, sedan närmast",
    "tfidf_text": "Textlikhet (TF-IDF)",
    "employer_popularity": "Arbetsgivarens resultat",
    "lightfm_hybrid": "LightFM (hybrid)",
}
RUN_STATUS = {"running": "Pågår", "promoted": "Klar – aktiverad",
              "rejected": "Klar – inte aktiverad", "failed": "Misslyckades"}
TRIGGER = {"api": "Knappen eller API:t", "cli": "Kommandoraden", "scheduler": "Schemat"}
# The gate's metrics in the order the job page lists them.
GATE_METRICS = [("ndcg@10", "NDCG@10"), ("recall@10", "Recall@10"), ("mrr", "MRR"),
                ("coverage", "Täckning"), ("ece", "ECE"), ("brier", "Brier"),
                ("rule_violations", "Regelbrott i topp 10"),
                ("test_placements", "Testplaceringar")]
CHART_VERSIONS = 12
LOCAL = ZoneInfo("Europe/Stockholm")


def system_name(code: str) -> str:
    return SYSTEM_NAMES.get(code, code)


def local_time(value: datetime | str | None) -> str:
    """A stored UTC time as Swedish local time, "2026-11-22 23:05"."""
    if value in (None, ""):
        return "–"
    ts = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(ts, datetime)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def number(value: Any, digits: int = 3) -> str:
    """A metric with a decimal comma; "–" when missing."""
    if value is None or isinstance(value, bool):
        return "–"
    if isinstance(value, int):
        return str(value)
    try:
        return f"{float(value):.{digits}f}".replace(".", ",")
    except (TypeError, ValueError):
        return "–"


def _systems(meta: dict[str, Any]) -> list[dict[str, Any]]:
    return list((meta.get("evaluation") or {}).get("systems") or [])


def summary(view: VersionView) -> dict[str, Any]:
    """One version as the list and the detail page show it."""
    meta = view.meta
    systems = _systems(meta)
    model = next((s for s in systems if s.get("system") == MODEL), {})
    estimator = meta.get("estimator")
    validation = (meta.get("validation") or {}).get(estimator or "", {}) or {}
    calibration = (meta.get("evaluation") or {}).get("calibration") or {}
    baselines = [{"code": s["system"], "name": system_name(s["system"]), **s}
                 for s in systems if s.get("system") != MODEL]
    with_ndcg = [b for b in baselines if b.get("ndcg@10") is not None]
    best = max(with_ndcg, key=lambda b: b["ndcg@10"]) if with_ndcg else None
    gate = meta.get("gate")
    return {
        "version": meta["version"], "active": view.active,
        "created": local_time(meta.get("created_at")),
        "window": meta.get("training_window") or {},
        "rows": meta.get("rows") or {},
        "estimator": estimator,
        "ndcg": model.get("ndcg@10"),
        "ece": model.get("ece", calibration.get("ece")),
        "auc": validation.get("auc"), "log_loss": validation.get("log_loss"),
        "evaluated": bool(systems),
        "systems": [{"code": s.get("system"), "name": system_name(str(s.get("system"))), **s}
                    for s in systems],
        "baselines": baselines, "best_baseline": best,
        "split": (meta.get("evaluation") or {}).get("split") or {},
        "gate": None if gate is None else {"promote": bool(gate.get("promote")),
                                           "reason": gate.get("reason") or "",
                                           "against": gate.get("active_version")},
        "validation": meta.get("validation") or {},
        "features": meta.get("features") or [],
        "libraries": meta.get("libraries") or {},
    }


def chart_points(views: Sequence[VersionView], limit: int = CHART_VERSIONS
                 ) -> list[tuple[str, dict[str, float | None]]]:
    """NDCG@10 per system for the evaluated versions, oldest first (the newest `limit`)."""
    out = []
    for view in reversed(views):  # the service lists newest first
        systems = _systems(view.meta)
        if systems:
            label = local_time(view.meta.get("created_at"))[:16]
            out.append((label, {str(s.get("system")): s.get("ndcg@10") for s in systems}))
    return out[-limit:]


def chart_columns(points: Sequence[tuple[str, dict[str, float | None]]]) -> list[str]:
    """The systems in the points, the model first."""
    seen = list(dict.fromkeys(s for _, values in points for s in values))
    return ([MODEL] if MODEL in seen else []) + [s for s in seen if s != MODEL]


def chart_text(points: Sequence[tuple[str, dict[str, float | None]]]) -> str:
    """The figure in words, for its alt text."""
    if not points:
        return "Diagrammet är tomt: ingen modellversion har utvärderats ännu."
    label, values = points[-1]
    model = values.get(MODEL)
    others = {k: v for k, v in values.items() if k != MODEL and v is not None}
    which = ("den enda utvärderade versionen" if len(points) == 1
             else f"de {len(points)} senaste utvärderade versionerna")
    text = (f"Två diagram över NDCG@10. Till vänster: värdet för modellen och för varje "
            f"jämförelsemetod i {which}. Till höger: den senaste utvärderade versionen "
            f"({label}), där modellen har {number(model)}")
    if others:
        best = max(others, key=lambda k: others[k])  # type: ignore[arg-type, return-value]
        text += (f" och den bästa jämförelsemetoden, {system_name(best).lower()}, "
                 f"{number(others[best])}")
    return text + ". Samma siffror står i tabellen under diagrammet."


def metric_rows(run_candidate: dict[str, Any], run_active: dict[str, Any]
                ) -> list[dict[str, Any]]:
    """A retrain run's gate metrics: the candidate on its whole window, the candidate and the
    active model on the placements the active model has not seen."""
    same = run_candidate.get("same_window") or {}
    return [{"name": name, "candidate": number(run_candidate.get(key)),
             "same": number(same.get(key)), "active": number(run_active.get(key))}
            for key, name in GATE_METRICS
            if any(key in d for d in (run_candidate, same, run_active))]
