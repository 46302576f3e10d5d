"""Slot-gap analysis (platsluckor): where the unit's waiting participants lack feasible slots
with free places, by occupation (SSYK 4) and kommun, and which employers to call.

Pure: the service hands in each waiting participant with the feasible slots the matching rules
leave them (per occupation) and whether they have a good suggestion at all, the slots' free
places, the shortage index, and a distance function. docs/reports.md explains the measure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["CallEntry", "Gap", "Seeker", "ShortageIndex", "call_list", "rank_gaps"]


@dataclass(frozen=True)
class Seeker:
    """A waiting participant as the gap analysis sees them."""

    id: int
    kommunkod: str
    occupations: tuple[str, ...]          # wished and past occupations (SSYK 4), distinct
    feasible: Mapping[str, frozenset[int]]  # occupation -> feasible slots of it with free places
    good: bool                            # has a good suggestion (see services.gaps)
    max_km: float


@dataclass(frozen=True)
class ShortageIndex:
    """Arbetsförmedlingen's national shortage index for an occupation: 1 (large surplus) to
    5 (large shortage); None where the forecast does not cover the occupation."""

    now: float | None    # 2022
    outlook: float | None  # five years ahead (2026)


@dataclass
class Gap:
    occupation: str
    kommunkod: str
    participants: list[int]      # waiting participants wishing or fit for the occupation
    without_slot: list[int]      # ... of whom no feasible slot of the occupation has a place
    without_good: list[int]      # ... of whom have no good suggestion at all
    supply_places: int           # free places in the occupation's slots feasible for them
    supply_slots: int
    shortage: ShortageIndex = field(default_factory=lambda: ShortageIndex(None, None))

    @property
    def demand(self) -> int:
        """Participants, each without a good suggestion counted twice."""
        return len(self.participants) + len(self.without_good)

    @property
    def shortfall(self) -> int:
        """Weighted demand the reachable free places do not cover."""
        return max(0, self.demand - self.supply_places)

    @property
    def affected(self) -> int:
        """Participants left without a place: those with no feasible slot of the occupation,
        or, when the places are fewer than the participants, that many more."""
        return max(len(self.without_slot), len(self.participants) - self.supply_places)

    @property
    def job_chances(self) -> bool:
        """A shortage occupation (index at least 4 now or in five years): a placement there
        is more likely to lead to a job."""
        return any(v is not None and v >= 4 for v in (self.shortage.now,
                                                      self.shortage.outlook))


@dataclass
class CallEntry:
    employer_id: int
    employer_name: str
    closeness: int                 # shared SSYK digits with the gap's occupation: 4, 3 or 2
    slots: list[dict]              # the employer's slots that make it relevant
    participants_in_reach: int     # of the gap's participants without a place
    nearest_km: float
    contact: dict = field(default_factory=dict)


def rank_gaps(seekers: Sequence[Seeker], remaining: Mapping[int, int],
              shortage: Mapping[str, ShortageIndex], top: int) -> list[Gap]:
    """The gaps with a shortfall, largest first; ties: better job chances (the five-year
    shortage index), more participants without a place, then occupation and kommun code."""
    groups: dict[tuple[str, str], list[Seeker]] = {}
    for s in seekers:
        for occ in s.occupations:
            groups.setdefault((occ, s.kommunkod), []).append(s)
    gaps: list[Gap] = []
    for (occ, kommun), members in groups.items():
        slots = frozenset().union(*(s.feasible.get(occ, frozenset()) for s in members))
        gap = Gap(occ, kommun, [s.id for s in members],
                  [s.id for s in members if not s.feasible.get(occ)],
                  [s.id for s in members if not s.good],
                  sum(remaining.get(i, 0) for i in slots), len(slots),
                  shortage.get(occ, ShortageIndex(None, None)))
        if gap.shortfall > 0:
            gaps.append(gap)
    gaps.sort(key=lambda g: (-g.shortfall, -(g.shortage.outlook or 0), -g.affected,
                             g.occupation, g.kommunkod))
    return gaps[:top]


def closeness(a: str, b: str) -> int:
    """How many leading SSYK digits two codes share (0 to 4)."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def call_list(gap: Gap, seekers: Mapping[int, Seeker], slots: Sequence[Mapping],
              distance: Callable[[Seeker, Mapping], float], limit: int = 10
              ) -> list[CallEntry]:
    """Employers within reach of the gap's participants without a place that already offer
    slots in the same occupation (full ones: ask for another place) or a nearby one (same
    SSYK 3- or 2-digit group): the closest occupation first, then the most participants in
    reach, then the nearest."""
    waiting = [seekers[i] for i in gap.participants if i in seekers]
    lacking = set(gap.without_slot) or set(gap.participants)
    people = [s for s in waiting if s.id in lacking]
    found: dict[int, CallEntry] = {}
    reach: dict[int, set[int]] = {}
    for slot in slots:
        near = closeness(str(slot["occupation_code"]), gap.occupation)
        if near < 2:
            continue
        dists = [(s.id, distance(s, slot)) for s in people]
        within = [(i, d) for i, d in dists if d <= seekers[i].max_km]
        if not within:
            continue
        emp = int(slot["employer_id"])
        entry = found.get(emp)
        if entry is None:
            entry = found[emp] = CallEntry(
                emp, str(slot["employer_name"]), near, [], 0, float("inf"),
                {k: slot.get(k) for k in ("contact_name", "contact_phone", "contact_email")})
            reach[emp] = set()
        entry.closeness = max(entry.closeness, near)
        entry.slots.append({"id": slot["id"], "title": slot["title"],
                            "occupation_code": slot["occupation_code"],
                            "kommunkod": slot["kommunkod"], "status": slot["status"]})
        entry.nearest_km = min(entry.nearest_km, min(d for _, d in within))
        reach[emp] |= {i for i, _ in within}
    for emp, entry in found.items():
        entry.participants_in_reach = len(reach[emp])
    ranked = sorted(found.values(), key=lambda e: (-e.closeness, -e.participants_in_reach,
                                                   e.nearest_km, e.employer_id))
    return ranked[:limit]
