"""Geography of the demo world: real regions around mid-size towns, their kommuner,
postcodes and points near the kommun centroids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matchning.reference import ReferenceData

# A mid-size town and one or two real neighbours that could share a labour-market unit.
REGIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Gävle", ("Sandviken", "Älvkarleby")),
    ("Västerås", ("Hallstahammar", "Surahammar")),
    ("Örebro", ("Kumla", "Lekeberg")),
    ("Jönköping", ("Habo",)),
    ("Borås", ("Bollebygd", "Ulricehamn")),
    ("Sundsvall", ("Timrå",)),
    ("Växjö", ("Alvesta", "Lessebo")),
    ("Karlstad", ("Hammarö", "Forshaga")),
    ("Eskilstuna", ()),
    ("Norrköping", ("Söderköping",)),
    ("Halmstad", ("Hylte",)),
    ("Falun", ("Borlänge",)),
    ("Trollhättan", ("Vänersborg", "Lilla Edet")),
    ("Kristianstad", ("Bromölla",)),
    ("Luleå", ("Boden",)),
    ("Östersund", ("Krokom",)),
    ("Skövde", ("Tibro", "Hjo")),
    ("Nyköping", ("Oxelösund",)),
    ("Kalmar", ("Nybro", "Mörbylånga")),
    ("Umeå", ("Vännäs",)),
)
AROUND_KM = 55.0      # employers also sit in kommuner this close to the town
AROUND_COUNT = 3
KM_PER_DEG_LAT = 111.2
EARTH_RADIUS_KM = 6371.0088


@dataclass
class UnitPlace:
    number: int               # 1-based
    name: str
    region: int               # index into Geography.regions
    kommuner: np.ndarray      # kommun indices served by the unit


@dataclass
class Region:
    name: str
    kommuner: np.ndarray      # the unit's kommuner
    around: np.ndarray        # neighbouring kommuner where some employers and slots are


@dataclass
class Geography:
    codes: list[str]          # kommunkoder in play; entities store an index into this list
    names: list[str]
    lat: np.ndarray
    lon: np.ndarray
    weight: np.ndarray        # population proxy: number of postcodes
    postcodes: list[np.ndarray]
    dist: np.ndarray          # centroid distances, kommun x kommun, km
    regions: list[Region]
    units: list[UnitPlace]


def build_geography(ref: ReferenceData, n_units: int) -> Geography:
    """The regions used by `n_units` units: distinct regions first, then shared ones."""
    by_name = {m.name: m.kommunkod for m in ref.municipalities.values()}
    all_codes = list(ref.municipalities)
    all_lat = np.array([ref.municipalities[c].lat for c in all_codes])
    all_lon = np.array([ref.municipalities[c].lon for c in all_codes])
    n_regions = min(n_units, len(REGIONS))
    codes: list[str] = []
    index: dict[str, int] = {}

    def idx(code: str) -> int:
        if code not in index:
            index[code] = len(codes)
            codes.append(code)
        return index[code]

    regions: list[Region] = []
    for town, neighbours in REGIONS[:n_regions]:
        own = [by_name[town], *(by_name[n] for n in neighbours)]
        centre = ref.municipalities[own[0]]
        d = haversine(centre.lat, centre.lon, all_lat, all_lon)
        near = [all_codes[i] for i in np.argsort(d, kind="stable")
                if d[i] <= AROUND_KM and all_codes[i] not in own][:AROUND_COUNT]
        regions.append(Region(town, np.array([idx(c) for c in own]),
                              np.array([idx(c) for c in near], dtype=np.int64)))
    units = []
    for i in range(n_units):
        r = i % n_regions
        lap = i // n_regions
        name = "Arbetsmarknadsenheten " + "–".join(
            ref.municipalities[codes[k]].name for k in regions[r].kommuner)
        if lap:
            name += f" {lap + 1}"
        units.append(UnitPlace(i + 1, name, r, regions[r].kommuner))

    by_kommun: dict[str, list[str]] = {c: [] for c in codes}
    for postcode, kommun in ref.postcodes.items():
        if kommun in by_kommun:
            by_kommun[kommun].append(postcode)
    lat = np.array([ref.municipalities[c].lat for c in codes])
    lon = np.array([ref.municipalities[c].lon for c in codes])
    return Geography(
        codes=codes,
        names=[ref.municipalities[c].name for c in codes],
        lat=lat, lon=lon,
        weight=np.array([max(1, len(by_kommun[c])) for c in codes], dtype=float),
        postcodes=[np.array(sorted(by_kommun[c])) for c in codes],
        dist=haversine(lat[:, None], lon[:, None], lat[None, :], lon[None, :]),
        regions=regions, units=units,
    )


def haversine(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km, vectorised."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def points_near(rng: np.random.Generator, geo: Geography, kommun: np.ndarray,
                sd_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Points scattered around the kommun centroids (rounded to about 10 m)."""
    n = len(kommun)
    lat0, lon0 = geo.lat[kommun], geo.lon[kommun]
    dlat = rng.normal(0.0, sd_km, n) / KM_PER_DEG_LAT
    dlon = rng.normal(0.0, sd_km, n) / (KM_PER_DEG_LAT * np.cos(np.radians(lat0)))
    return np.round(lat0 + dlat, 4), np.round(lon0 + dlon, 4)


def pick_kommun(rng: np.random.Generator, geo: Geography, choices: np.ndarray,
                n: int) -> np.ndarray:
    """`n` kommun indices from `choices`, weighted by size."""
    w = geo.weight[choices]
    return choices[rng.choice(len(choices), size=n, p=w / w.sum())]


def pick_postcodes(rng: np.random.Generator, geo: Geography, kommun: np.ndarray) -> np.ndarray:
    """A real postcode of each kommun, five digits as the service stores them."""
    out = np.empty(len(kommun), dtype=object)
    for k in np.unique(kommun):
        mask = kommun == k
        codes = geo.postcodes[k]
        out[mask] = codes[rng.integers(0, len(codes), mask.sum())].tolist()
    return out


def pair_distance(geo: Geography, ka: np.ndarray, lat_a: np.ndarray, lon_a: np.ndarray,
                  kb: np.ndarray, lat_b: np.ndarray, lon_b: np.ndarray,
                  same_kommun_km: float) -> np.ndarray:
    """Distance of place pairs; NaN coordinates fall back to the kommun centroid, and two
    unknown points in the same kommun count as `same_kommun_km` (as the service does)."""
    la = np.where(np.isnan(lat_a), geo.lat[ka], lat_a)
    oa = np.where(np.isnan(lon_a), geo.lon[ka], lon_a)
    lb = np.where(np.isnan(lat_b), geo.lat[kb], lat_b)
    ob = np.where(np.isnan(lon_b), geo.lon[kb], lon_b)
    d = haversine(la, oa, lb, ob)
    both_unknown = np.isnan(lat_a) & np.isnan(lat_b) & (ka == kb)
    return np.where(both_unknown, same_kommun_km, d)
