"""How consultants judge a slot for a participant: only what they can see (wished and past
occupations, distance, obvious constraints), never the hidden employer quality.

Scoring runs over tens of millions of candidate pairs in a huge world, so everything per
participant and per slot is prepared once and distances use a flat-earth approximation
(good to well under a kilometre at these distances).
"""

from __future__ import annotations

import numpy as np

from matchning.demo.config import SAME_KOMMUN_KM
from matchning.demo.people import ACCESS, NO_LIFT, REDUCED, Participants
from matchning.demo.places import KM_PER_DEG_LAT, Geography
from matchning.demo.slots import Slots


class ConsultantView:
    def __init__(self, geo: Geography, fit: np.ndarray, p: Participants, s: Slots):
        self.fit = fit.astype(np.float32)
        self.p_unknown = np.isnan(p.lat)
        self.s_unknown = np.isnan(s.lat)
        self.p_lat = np.where(self.p_unknown, geo.lat[p.kommun], p.lat)
        self.p_lon = np.where(self.p_unknown, geo.lon[p.kommun], p.lon)
        self.s_lat = np.where(self.s_unknown, geo.lat[s.kommun], s.lat)
        self.s_lon = np.where(self.s_unknown, geo.lon[s.kommun], s.lon)
        self.p_kommun, self.s_kommun = p.kommun, s.kommun
        self.wished, self.past = p.wished, p.past
        self.commute = p.commute
        self.no_lift = (p.adaptations & NO_LIFT) > 0
        self.access = (p.adaptations & ACCESS) > 0
        self.reduced = (p.adaptations & REDUCED) > 0
        self.p_licence = p.licence
        self.p_swedish = np.minimum(p.swedish, 4)
        self.p_hours = p.max_hours
        self.needs = p.needs_supervisor
        self.s_occ = s.occ
        self.heavy = s.demand == 2
        self.accessible = s.accessible
        self.s_licence = s.licence
        self.s_swedish = s.swedish
        self.s_hours = s.hours
        self.long_hours = np.nan_to_num(s.hours, nan=0.0) > 30
        self.supervisor = s.supervisor

    def distance(self, pi: np.ndarray, si: np.ndarray) -> np.ndarray:
        lat1, lat2 = self.p_lat[pi], self.s_lat[si]
        dy = (lat2 - lat1) * KM_PER_DEG_LAT
        dx = (self.s_lon[si] - self.p_lon[pi]) * KM_PER_DEG_LAT * np.cos(
            np.radians((lat1 + lat2) * 0.5))
        d = np.sqrt(dx * dx + dy * dy)
        same = self.p_unknown[pi] & self.s_unknown[si] & (self.p_kommun[pi] == self.s_kommun[si])
        return np.where(same, SAME_KOMMUN_KM, d)

    def score(self, pi: np.ndarray, si: np.ndarray) -> np.ndarray:
        """The consultant's judgement of each pair, before randomness."""
        occ = self.s_occ[si]
        wished, past = self.wished[pi], self.past[pi]
        wish = np.maximum(np.maximum(self.fit[wished[:, 0], occ], self.fit[wished[:, 1], occ]),
                          self.fit[wished[:, 2], occ])
        seen = np.maximum(np.maximum(self.fit[past[:, 0], occ], self.fit[past[:, 1], occ]),
                          self.fit[past[:, 2], occ])
        d = self.distance(pi, si)
        constraints = ((self.no_lift[pi] & self.heavy[si]).astype(np.int8)
                       + (self.access[pi] & ~self.accessible[si])
                       + ((self.s_licence[si] & ~self.p_licence[pi]) != 0)
                       + (self.reduced[pi] & self.long_hours[si]))
        req = self.s_swedish[si]
        language_gap = np.where(req >= 0, np.maximum(0, req - self.p_swedish[pi]), 0)
        hours_gap = np.nan_to_num(self.s_hours[si] - self.p_hours[pi], nan=0.0).clip(0) / 10
        return (1.5 * (wish >= 1.0) + 1.2 * np.maximum(wish, 0.8 * seen) - 0.06 * d
                - 1.2 * (d > self.commute[pi]) - 2.5 * constraints - 0.7 * language_gap
                - 0.5 * hours_gap + 0.4 * (self.needs[pi] & self.supervisor[si]))
