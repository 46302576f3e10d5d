"""Participant profiles (the snapshot fields) as arrays, one row per profile."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matchning.ml.catalog import swedish_rank
from matchning.ml.geo import resolve_points
from matchning.reference import ReferenceData


def _pad(lists: list[list[int]], fill: int = -1) -> np.ndarray:
    width = max((len(x) for x in lists), default=0) or 1
    out = np.full((len(lists), width), fill, dtype=np.int64)
    for i, x in enumerate(lists):
        out[i, :len(x)] = x
    return out


@dataclass
class ProfileMatrix:
    records: list[Mapping[str, Any]]
    kommun: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    has_point: np.ndarray
    commute: np.ndarray
    swedish: np.ndarray
    max_hours: np.ndarray     # NaN when not given
    needs_supervisor: np.ndarray
    own_car: np.ndarray
    education: np.ndarray     # SUN level, NaN when unknown
    wished: np.ndarray        # (n, w) SSYK ints, -1 padded
    past: np.ndarray          # (n, p) SSYK ints, -1 padded
    past_years: np.ndarray    # (n, p)

    def __len__(self) -> int:
        return len(self.records)

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]], ref: ReferenceData
                     ) -> ProfileMatrix:
        recs = list(records)
        num = lambda v: np.nan if v is None else float(v)  # noqa: E731
        kommun = np.array([r["kommunkod"] for r in recs], dtype=object)
        lat, lon, has = resolve_points(ref, kommun, [num(r.get("lat")) for r in recs],
                                       [num(r.get("lon")) for r in recs])
        past = [r.get("past_work") or [] for r in recs]
        years = [[float(w.get("years", 0) or 0) for w in ws] for ws in past]
        width = max((len(y) for y in years), default=0) or 1
        past_years = np.zeros((len(recs), width))
        for i, y in enumerate(years):
            past_years[i, :len(y)] = y
        return cls(
            records=recs, kommun=kommun, lat=lat, lon=lon, has_point=has,
            commute=np.array([float(r["max_commute_km"]) for r in recs]),
            swedish=np.array([swedish_rank(r["swedish_level"]) for r in recs], dtype=np.int64),
            max_hours=np.array([num(r.get("max_hours_per_week")) for r in recs]),
            needs_supervisor=np.array([bool(r.get("needs_supervisor")) for r in recs]),
            own_car=np.array([bool(r.get("own_car")) for r in recs]),
            education=np.array([num(r.get("education_level")) for r in recs]),
            wished=_pad([[int(c) for c in r.get("wished_occupations") or []] for r in recs]),
            past=_pad([[int(w["code"]) for w in ws] for ws in past]),
            past_years=past_years,
        )
