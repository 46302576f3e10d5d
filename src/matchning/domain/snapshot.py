"""The matching-relevant profile of a participant, frozen into each placement when proposed.

Training reads the snapshot (no leakage from later edits) and the audit shows what the model
saw. Target groups and fairness fields are deliberately absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

SNAPSHOT_FIELDS: tuple[str, ...] = (
    "kommunkod", "lat", "lon", "max_commute_km", "driving_licences", "own_car", "swedish_level",
    "other_languages", "education_level", "wished_occupations", "past_work", "skills",
    "profile_text", "max_hours_per_week", "earliest_start", "needs_supervisor", "adaptations",
)


def profile_snapshot(profile: Mapping[str, Any] | Any) -> dict[str, Any]:
    """JSON-ready snapshot from a mapping or any object with the profile attributes."""
    get = profile.get if isinstance(profile, Mapping) else lambda k: getattr(profile, k, None)
    out: dict[str, Any] = {}
    for name in SNAPSHOT_FIELDS:
        value = get(name)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, (list, tuple)):
            value = [dict(v) if isinstance(v, Mapping) else v for v in value]
        out[name] = value
    return out
