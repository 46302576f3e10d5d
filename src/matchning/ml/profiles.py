"""Participant profiles (the snapshot fields) as arrays, one row per profile, and an index
that finds the profiles within reach of one place."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matchning.ml.catalog import licence_mask, swedish_rank
from matchning.ml.dates import FAR_PAST, day_number
from matchning.ml.geo import haversine_km, resolve_points
from matchning.ml.rule_defs import (
    ACCESSIBLE_WORKPLACE,
    NO_HEAVY_LIFTING,
    REDUCED_HOURS,
    licences_held,
)
from matchning.reference import ReferenceData

# Commute bands of the reach index: a kommun's profiles are grouped by how far they may
# travel, so one participant with a long commute does not keep the whole kommun in reach.
COMMUTE_BANDS = np.array([5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 150.0])


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
    # What the hard rules read (one slot against many profiles, `rules.rules_for_slot`).
    licences: np.ndarray      # bit mask of the classes held, with the ones they cover
    earliest: np.ndarray      # day number of the earliest start, FAR_PAST when none
    no_heavy: np.ndarray      # consented need: no heavy lifting
    accessible: np.ndarray    # consented need: an accessible workplace
    reduced: np.ndarray       # consented need: reduced working hours

    def __len__(self) -> int:
        return len(self.records)

    def hours_limit(self, reduced_hours_max: float) -> np.ndarray:
        """Most hours a week each profile can work (inf when nothing limits it)."""
        limit = np.where(np.isnan(self.max_hours), np.inf, self.max_hours)
        return np.where(self.reduced, np.minimum(limit, reduced_hours_max), limit)

    def take(self, idx: np.ndarray) -> ProfileMatrix:
        """The profiles at `idx`, in that order."""
        arrays = {f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)
                  if f.name != "records"}
        return ProfileMatrix(records=[self.records[i] for i in idx], **arrays)

    @classmethod
    def concat(cls, a: ProfileMatrix, b: ProfileMatrix) -> ProfileMatrix:
        """The rows of `a`, then those of `b` (padded lists widened to the wider of the two)."""
        if len(b) == 0 or len(a) == 0:
            return a if len(b) == 0 else b
        arrays = {}
        for f in dataclasses.fields(cls):
            if f.name == "records":
                continue
            x, y = getattr(a, f.name), getattr(b, f.name)
            if x.ndim == 2:
                fill = 0.0 if f.name == "past_years" else -1
                width = max(x.shape[1], y.shape[1])
                x, y = (np.pad(m, ((0, 0), (0, width - m.shape[1])), constant_values=fill)
                        for m in (x, y))
            arrays[f.name] = np.concatenate([x, y])
        return cls(records=[*a.records, *b.records], **arrays)

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
        adapt = [set(r.get("adaptations") or ()) for r in recs]
        return cls(
            records=recs, kommun=kommun, lat=lat, lon=lon, has_point=has,
            commute=np.array([float(r["max_commute_km"]) for r in recs], dtype=float),
            swedish=np.array([swedish_rank(r["swedish_level"]) for r in recs], dtype=np.int64),
            max_hours=np.array([num(r.get("max_hours_per_week")) for r in recs], dtype=float),
            needs_supervisor=np.array([bool(r.get("needs_supervisor")) for r in recs],
                                      dtype=bool),
            own_car=np.array([bool(r.get("own_car")) for r in recs], dtype=bool),
            education=np.array([num(r.get("education_level")) for r in recs], dtype=float),
            wished=_pad([[int(c) for c in r.get("wished_occupations") or []] for r in recs]),
            past=_pad([[int(w["code"]) for w in ws] for ws in past]),
            past_years=past_years,
            licences=np.array([licence_mask(sorted(licences_held(r.get("driving_licences"))))
                               for r in recs], dtype=np.int64),
            earliest=np.array([day_number(r.get("earliest_start"), FAR_PAST) for r in recs],
                              dtype=np.int64),
            no_heavy=np.array([NO_HEAVY_LIFTING in a for a in adapt], dtype=bool),
            accessible=np.array([ACCESSIBLE_WORKPLACE in a for a in adapt], dtype=bool),
            reduced=np.array([REDUCED_HOURS in a for a in adapt], dtype=bool),
        )


@dataclass
class ProfileReach:
    """Profiles grouped by kommun and commute band, with each group's centroid, radius and
    longest commute: the reverse of `catalog.ReachIndex` (there the slot side has no reach of
    its own; here every participant has one)."""

    lat: np.ndarray
    lon: np.ndarray
    radius: np.ndarray
    commute: np.ndarray
    groups: list[np.ndarray]

    @classmethod
    def build(cls, P: ProfileMatrix) -> ProfileReach:
        if len(P) == 0:
            empty = np.zeros(0)
            return cls(empty, empty, empty, empty, [])
        band = np.searchsorted(COMMUTE_BANDS, P.commute)
        keys = np.char.add(P.kommun.astype(str), np.char.mod("/%d", band))
        _, inverse = np.unique(keys, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        cuts = np.flatnonzero(np.diff(inverse[order])) + 1
        groups = np.split(order, cuts)
        lat = np.array([P.lat[g].mean() for g in groups])
        lon = np.array([P.lon[g].mean() for g in groups])
        radius = np.array([haversine_km(lat[i], lon[i], P.lat[g], P.lon[g]).max()
                           for i, g in enumerate(groups)])
        commute = np.array([P.commute[g].max() for g in groups])
        return cls(lat, lon, radius + 0.01, commute, groups)  # a hair of slack for rounding

    def within(self, lat: float, lon: float) -> np.ndarray:
        """Indices (ascending) of the profiles that may reach the point: a group is skipped
        only when its nearest member must be farther than its longest commute (triangle
        inequality), so no profile within reach is ever lost."""
        if not self.groups:
            return np.zeros(0, dtype=np.int64)
        near = haversine_km(lat, lon, self.lat, self.lon) - self.radius <= self.commute
        picked = [self.groups[i] for i in np.flatnonzero(near)]
        return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
