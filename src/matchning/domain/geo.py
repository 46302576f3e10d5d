"""Distances between places. Haversine on coordinates; kommun centroids when a point is missing."""

from __future__ import annotations

import math

from matchning.reference import ReferenceData

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    s1, s2 = math.sin(dp / 2), math.sin(dl / 2)
    # Squares as products, as numpy computes them: both engines then agree to the bit.
    a = s1 * s1 + math.cos(p1) * math.cos(p2) * (s2 * s2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def distance_km(
    ref: ReferenceData,
    kommun_a: str, point_a: tuple[float, float] | None,
    kommun_b: str, point_b: tuple[float, float] | None,
    same_kommun_default_km: float,
) -> float:
    """Distance between two places, each a kommun and an optional (lat, lon).

    Both points known: haversine between them. Otherwise the missing point is the kommun's
    centroid; when both are missing and the kommun is the same, the centroid distance would be 0,
    so the documented default (setting MATCHNING_SAME_KOMMUN_DISTANCE_KM) stands in for it.
    """
    if point_a is not None and point_b is not None:
        return haversine_km(*point_a, *point_b)
    if point_a is None and point_b is None and kommun_a == kommun_b:
        return same_kommun_default_km
    ma, mb = ref.municipalities[kommun_a], ref.municipalities[kommun_b]
    a = point_a or (ma.lat, ma.lon)
    b = point_b or (mb.lat, mb.lon)
    return haversine_km(*a, *b)
