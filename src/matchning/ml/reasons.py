"""Why a pair scored as it did, in Swedish, from the model's own view of the pair.

For each feature group the pair's values are replaced by the typical values of the training
data and the pair is scored again; the change in probability is that group's contribution.
The groups that moved the score most become the reasons, worded from the pair's own values.
A fact that cannot explain the direction it pushed (an unknown working time "for", a slot that
leads to no job "for") is left out rather than shown as a puzzle: the next group takes its place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from matchning.ml.catalog import SECTORS
from matchning.ml.features import COLUMN, GROUPS

REASON_GROUPS = tuple(g for g in GROUPS if g != "person")  # the same for every slot
MIN_EFFECT = 0.005
MAX_REASONS = 5
DEMAND_TEXT = {"lätt": "lätt fysiskt arbete", "medel": "medeltungt fysiskt arbete",
               "tung": "tungt fysiskt arbete"}


def contributions(model, X: np.ndarray, raw: np.ndarray | None = None) -> np.ndarray:
    """(pairs x REASON_GROUPS) change in probability when the group takes typical values.
    `raw`: the pairs' own uncalibrated scores when the caller has them (the ranking did)."""
    if len(X) == 0:
        return np.zeros((0, len(REASON_GROUPS)))
    # One predict call for all variants: per-call overhead dominates for a few rows.
    variants = [] if raw is not None else [X]
    for group in REASON_GROUPS:
        Xg = X.copy()
        for name in GROUPS[group]:
            Xg[:, COLUMN[name]] = model.reference[COLUMN[name]]
        variants.append(Xg)
    # The uncalibrated score: isotonic calibration's flat steps would hide small effects.
    p = model.raw_score(np.vstack(variants)).reshape(len(variants), len(X))
    if raw is not None:
        p = np.vstack([np.asarray(raw, dtype=float)[None, :], p])
    out = (p[0][None, :] - p[1:]).T
    return out


def reasons(x: np.ndarray, effect: np.ndarray, slot: Mapping[str, Any],
            profile: Mapping[str, Any], label_of) -> list[dict[str, str]]:
    """Reasons for one pair: feature row `x`, group effects, and the records for wording."""
    order = np.argsort(-np.abs(effect), kind="stable")
    out: list[dict[str, str]] = []
    for g in order:
        if abs(effect[g]) < MIN_EFFECT or len(out) == MAX_REASONS:
            break
        group = REASON_GROUPS[g]
        kind = "for" if effect[g] > 0 else "against"
        text = WORDING[group](x, kind, slot, profile, label_of)
        if text is not None:
            out.append({"code": group, "kind": kind, "text": text})
    return out


def _v(x: np.ndarray, name: str) -> float:
    return float(x[COLUMN[name]])


def _occupation(x, kind, slot, profile, label_of) -> str:
    label = label_of(slot["occupation_code"]) or slot["occupation_code"]
    wish, past = _v(x, "wish_level"), _v(x, "past_level")
    if wish >= 4:
        return f"samma yrke som önskat: {label}"
    if past >= 4:
        return f"har arbetat som {label.lower()} ({_v(x, 'past_years'):.0f} år)"
    if wish >= 3 or past >= 3:
        return f"närliggande yrke till det önskade: {label}"
    if _v(x, "substitute") > 0:
        return f"yrke som liknar det önskade: {label}"
    if wish >= 2:
        return f"samma yrkesområde som önskat: {label}"
    return f"annat yrke än det önskade: {label}" if kind == "against" else None


def _skills(x, kind, slot, profile, label_of) -> str:
    asked = int(_v(x, "skills_asked"))
    if asked == 0:
        return "inga särskilda kompetenser krävs"
    have = round(_v(x, "required_cover") * asked)
    return f"{have} av {asked} efterfrågade kompetenser"


def _text(x, kind, slot, profile, label_of) -> str:
    return ("profilen och annonsen beskriver liknande arbete" if kind == "for"
            else "profilen och annonsen har lite gemensamt")


def _distance(x, kind, slot, profile, label_of) -> str:
    d = _v(x, "distance_km")
    return f"{d:.0f} km från hemmet" if d >= 1 else "under 1 km från hemmet"


def _language(x, kind, slot, profile, label_of) -> str:
    have = profile.get("swedish_level")
    if not _v(x, "swedish_required"):
        return "inga krav på svenska" if kind == "for" else None
    return f"kräver svenska på nivå {slot.get('swedish_level')} – deltagaren har {have}"


def _hours(x, kind, slot, profile, label_of) -> str:
    hours = slot.get("hours_per_week")
    if hours is None or not _v(x, "hours_known"):
        return None  # nothing to say about an unknown working time
    most = profile.get("max_hours_per_week")
    if most is None:
        return f"{hours:g} timmar i veckan"
    return f"{hours:g} timmar i veckan – deltagaren kan högst {most:g}"


def _support(x, kind, slot, profile, label_of) -> str:
    if _v(x, "support_missing"):
        return "ingen handledare, fast deltagaren behöver stöd"
    if _v(x, "supervisor"):
        return "handledare finns" if kind == "for" else None
    return "ingen handledare" if kind == "against" else None


def _employer(x, kind, slot, profile, label_of) -> str:
    seen = round(np.expm1(_v(x, "employer_placements")))
    if seen == 0:
        return "arbetsgivaren har inga tidigare placeringar"
    return (f"arbetsgivaren har goda tidigare resultat ({seen} placeringar)" if kind == "for"
            else f"arbetsgivaren har svaga tidigare resultat ({seen} placeringar)")


def _job(x, kind, slot, profile, label_of) -> str:
    leads = bool(_v(x, "may_lead_to_job"))
    if leads != (kind == "for"):
        return None
    return "platsen kan leda till anställning" if leads else "platsen leder inte till anställning"


def _workplace(x, kind, slot, profile, label_of) -> str:
    parts = []
    demand = slot.get("physical_demand")
    if demand in DEMAND_TEXT:
        parts.append(DEMAND_TEXT[demand])
    sector = slot.get("sector")
    if sector in SECTORS:
        parts.append({"privat": "privat", "offentlig": "offentlig",
                      "ideell": "ideell"}[sector] + " arbetsgivare")
    return "arbetsplatsen: " + ", ".join(parts) if parts else "arbetsplatsen"


WORDING = {"occupation": _occupation, "skills": _skills, "text": _text,
           "distance": _distance, "language": _language, "hours": _hours,
           "support": _support, "employer": _employer, "job_chance": _job,
           "workplace": _workplace}
