"""Vectorised distances with the same fallbacks as `matchning.domain.geo.distance_km`."""

from __future__ import annotations

import numpy as np

from matchning.reference import ReferenceData

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    s1, s2 = np.sin(dp / 2), np.sin(dl / 2)
    a = s1 * s1 + np.cos(p1) * np.cos(p2) * (s2 * s2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def resolve_points(ref: ReferenceData, kommuner, lat, lon) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
    """(lat, lon, has_point): a missing point becomes its kommun's centroid."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    has = ~(np.isnan(lat) | np.isnan(lon))
    clat = np.array([ref.municipalities[k].lat for k in kommuner], dtype=float)
    clon = np.array([ref.municipalities[k].lon for k in kommuner], dtype=float)
    return np.where(has, lat, clat), np.where(has, lon, clon), has


def pair_distance_km(p_lat, p_lon, p_has, p_kommun, s_lat, s_lon, s_has, s_kommun,
                     same_kommun_km: float) -> np.ndarray:
    """Distance per pair; both points missing in the same kommun gives `same_kommun_km`."""
    d = haversine_km(p_lat, p_lon, s_lat, s_lon)
    neither = ~np.asarray(p_has) & ~np.asarray(s_has) & (np.asarray(p_kommun)
                                                       == np.asarray(s_kommun))
    return np.where(neither, same_kommun_km, d)
