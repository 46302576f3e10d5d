"""The open slots as arrays: one row per slot, built once and reused by every request.

Rules and features read these arrays instead of row objects, so a participant is matched
against every slot with a handful of numpy operations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matchning.domain.vocab import DRIVING_LICENCES, SWEDISH_RANK, SwedishLevel
from matchning.ml.dates import FAR_FUTURE, day_numbers
from matchning.ml.geo import haversine_km, resolve_points
from matchning.reference import ReferenceData

LICENCE_BIT = {lic: 1 << i for i, lic in enumerate(DRIVING_LICENCES)}
DEMAND_RANK = {"lätt": 0, "medel": 1, "tung": 2}
SECTORS = ("privat", "offentlig", "ideell")
SIZE_RANK = {"1-9": 0, "10-49": 1, "50-249": 2, "250+": 3}

SLOT_FIELDS = (
    "id", "external_id", "employer_id", "employer_name", "sector", "size_band", "title",
    "description", "occupation_code", "required_skills", "nice_skills", "kommunkod", "lat",
    "lon", "capacity", "remaining", "hours_per_week", "start_date", "end_date",
    "driving_licences", "swedish_level", "physical_demand", "accessible", "supervisor",
    "may_lead_to_job", "status",
)


def licence_mask(licences: Sequence[str] | None) -> int:
    mask = 0
    for lic in licences or ():
        mask |= LICENCE_BIT.get(lic, 0)
    return mask


def swedish_rank(level: str | None) -> int:
    return -1 if level is None else SWEDISH_RANK[SwedishLevel(level)]


def _num(value: Any) -> float:
    return np.nan if value is None else float(value)


@dataclass
class SlotMatrix:
    """Slots as parallel arrays; `records` keeps the mappings for display and features."""

    records: list[Mapping[str, Any]]
    ids: np.ndarray
    employer: np.ndarray
    is_open: np.ndarray
    start: np.ndarray         # day numbers
    end: np.ndarray           # day numbers, FAR_FUTURE when open-ended
    remaining: np.ndarray
    kommun: np.ndarray        # kommunkod strings
    lat: np.ndarray           # the slot's point, or its kommun's centroid
    lon: np.ndarray
    has_point: np.ndarray
    hours: np.ndarray         # NaN when not given
    licences: np.ndarray      # bit mask over DRIVING_LICENCES
    swedish: np.ndarray       # rank, -1 when no requirement
    demand: np.ndarray        # 0 lätt, 1 medel, 2 tung
    accessible: np.ndarray
    supervisor: np.ndarray
    may_lead: np.ndarray
    occupation: np.ndarray    # SSYK code as int (e.g. 9621)
    _reach: ReachIndex | None = field(default=None, repr=False)
    # (today, horizon) and its `available` mask; not copied by dataclasses.replace, which
    # may change `remaining`.
    _available: tuple[tuple[int, int], np.ndarray] | None = field(default=None, init=False,
                                                                  repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx: np.ndarray, records: bool = True) -> SlotMatrix:
        """The slots at `idx`, in that order (a request's reachable part); `records=False`
        leaves the records out (the rules read only the arrays)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name not in ("records", "_reach", "_available")}
        return SlotMatrix(records=[self.records[i] for i in idx] if records else [],
                          _reach=None, **{k: v[idx] for k, v in values.items()})

    def available(self, today: int, horizon_days: int) -> np.ndarray:
        """Per slot: open, in its period on day `today`, starting within `horizon_days`, and
        with a free place; the rules that read only the slot and the day (`evaluate_rules`'
        slot_not_open, period_over, starts_too_late, no_free_place), the same for every
        participant, so worked out once per catalogue and day. In a busy catalogue most open
        slots are full (two thirds in the national benchmark world)."""
        cached = self._available
        if cached is None or cached[0] != (today, horizon_days):
            mask = (self.is_open & ~(self.end < today) & ~(self.start > today + horizon_days)
                    & ~(self.remaining <= 0))
            cached = self._available = ((today, horizon_days), mask)
        return cached[1]

    def indexed(self) -> SlotMatrix:
        """Build the reach index now (copies made with dataclasses.replace share it)."""
        if self._reach is None:
            self._reach = ReachIndex.build(self)
        return self

    def reachable(self, lat: float, lon: float, km: float) -> np.ndarray:
        """Indices of the slots that may lie within `km` of the point: every slot of a kommun
        is skipped only when the kommun's nearest slot must be farther (triangle inequality
        over the kommun's centroid and the radius of its slots), so nothing within reach is
        ever lost. A request's cost then grows with the slots a participant can reach."""
        if self._reach is None:
            self._reach = ReachIndex.build(self)
        return self._reach.within(lat, lon, km)

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]], ref: ReferenceData
                     ) -> SlotMatrix:
        recs = list(records)
        get = lambda name, default=None: [r.get(name, default) for r in recs]  # noqa: E731
        kommun = np.array(get("kommunkod"), dtype=object)
        lat, lon, has = resolve_points(ref, kommun, [_num(v) for v in get("lat")],
                                       [_num(v) for v in get("lon")])
        return cls(
            records=recs,
            ids=np.array(get("id"), dtype=np.int64),
            employer=np.array(get("employer_id"), dtype=np.int64),
            is_open=np.array([s == "open" for s in get("status")], dtype=bool),
            start=day_numbers(get("start_date"), missing=-FAR_FUTURE),
            end=day_numbers(get("end_date"), missing=FAR_FUTURE),
            remaining=np.array(get("remaining", 0), dtype=np.int64),
            kommun=kommun,
            lat=lat, lon=lon, has_point=has,
            hours=np.array([_num(v) for v in get("hours_per_week")], dtype=float),
            licences=np.array([licence_mask(v) for v in get("driving_licences")],
                              dtype=np.int64),
            swedish=np.array([swedish_rank(v) for v in get("swedish_level")], dtype=np.int64),
            demand=np.array([DEMAND_RANK.get(v, 0) for v in get("physical_demand")],
                            dtype=np.int64),
            accessible=np.array(get("accessible", False), dtype=bool),
            supervisor=np.array(get("supervisor", False), dtype=bool),
            may_lead=np.array(get("may_lead_to_job", False), dtype=bool),
            occupation=np.array([int(c) for c in get("occupation_code")], dtype=np.int64),
        )

    def index_of(self) -> dict[int, int]:
        return {int(i): k for k, i in enumerate(self.ids)}


@dataclass
class ReachIndex:
    """Slots grouped by kommun, with each group's centroid and radius."""

    lat: np.ndarray
    lon: np.ndarray
    radius: np.ndarray
    groups: list[np.ndarray]

    @classmethod
    def build(cls, slots: SlotMatrix) -> ReachIndex:
        codes, inverse = np.unique(slots.kommun.astype(str), return_inverse=True)
        groups = [np.flatnonzero(inverse == g) for g in range(len(codes))]
        lat = np.array([slots.lat[g].mean() for g in groups]) if groups else np.zeros(0)
        lon = np.array([slots.lon[g].mean() for g in groups]) if groups else np.zeros(0)
        radius = np.array([haversine_km(lat[i], lon[i], slots.lat[g], slots.lon[g]).max()
                           for i, g in enumerate(groups)]) if groups else np.zeros(0)
        return cls(lat, lon, radius + 0.01, groups)  # a hair of slack for rounding

    def within(self, lat: float, lon: float, km: float) -> np.ndarray:
        if not self.groups:
            return np.zeros(0, dtype=np.int64)
        near = haversine_km(lat, lon, self.lat, self.lon) - self.radius <= km
        picked = [self.groups[i] for i in np.flatnonzero(near)]
        return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
