"""Loads the reference CSVs once per process and answers look-ups and text searches.

Codes are kept as strings: SSYK and kommun codes have leading zeros.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

SHORTAGE_NOW, SHORTAGE_OUTLOOK = 2022, 2026  # the years of the shortage index file


@dataclass(frozen=True, slots=True)
class Occupation:
    code: str
    label: str
    level: int
    parent: str | None
    source: str  # "ssyk2012" or "jobtech" (a JobTech group code that SSYK 2012 lacks)


@dataclass(frozen=True, slots=True)
class Municipality:
    kommunkod: str
    name: str
    lan_kod: str
    lan: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class OccupationName:
    id: str
    name: str
    ssyk4: str


@dataclass
class ReferenceData:
    occupations: dict[str, Occupation] = field(default_factory=dict)
    municipalities: dict[str, Municipality] = field(default_factory=dict)
    postcodes: dict[str, str] = field(default_factory=dict)
    occupation_names: list[OccupationName] = field(default_factory=list)
    skills: dict[str, str] = field(default_factory=dict)  # normalised label -> label
    skills_by_ssyk: dict[str, list[str]] = field(default_factory=dict)
    substitutes: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    sun_levels: dict[str, str] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)  # iso 639-1 lower -> label
    jobtech_group_of: dict[str, str] = field(default_factory=dict)  # ssyk4 -> jobtech group
    # Arbetsförmedlingen's national shortage index: ssyk4 -> {year: 1..5} (2022, 2026)
    shortage: dict[str, dict[int, float]] = field(default_factory=dict)

    # --- occupations -------------------------------------------------------------
    def is_occupation_code(self, code: str) -> bool:
        """True for the 429 SSYK 2012 unit groups, the JobTech groups and their ancestors."""
        return code in self.occupations

    def is_unit_group(self, code: str) -> bool:
        occ = self.occupations.get(code)
        return occ is not None and occ.level == 4

    def occupation_label(self, code: str) -> str | None:
        occ = self.occupations.get(code)
        return occ.label if occ else None

    def search_occupations(self, text: str, limit: int = 20) -> list[dict[str, str]]:
        """Job titles (JobTech occupation names) and unit-group labels containing `text`."""
        needle = normalise(text)
        if not needle:
            return []
        hits: list[tuple[int, str, dict[str, str]]] = []
        for name in self.occupation_names:
            key = normalise(name.name)
            if needle in key:
                rank = 0 if key.startswith(needle) else 1
                hits.append((rank, key, {"name": name.name, "ssyk4": name.ssyk4,
                                         "ssyk4_label": self.occupation_label(name.ssyk4) or ""}))
        for occ in self.occupations.values():
            if occ.level == 4 and (needle in normalise(occ.label) or occ.code.startswith(needle)):
                hits.append((2, normalise(occ.label),
                             {"name": occ.label, "ssyk4": occ.code, "ssyk4_label": occ.label}))
        hits.sort(key=lambda h: (h[0], len(h[1]), h[1]))
        seen: set[tuple[str, str]] = set()
        unique = []
        for _, _, hit in hits:  # a job title equal to its group's label would come twice
            key = (normalise(hit["name"]), hit["ssyk4"])
            if key not in seen:
                seen.add(key)
                unique.append(hit)
        return unique[:limit]

    def shortage_index(self, code: str) -> tuple[float | None, float | None]:
        """(2022, five-year outlook) of Arbetsförmedlingen's shortage index for an SSYK 4
        code: 1 large surplus .. 5 large shortage; None where the forecast has no value."""
        years = self.shortage.get(code, {})
        return years.get(SHORTAGE_NOW), years.get(SHORTAGE_OUTLOOK)

    # --- municipalities ------------------------------------------------------------
    def is_kommunkod(self, code: str) -> bool:
        return code in self.municipalities

    def kommun_for_postcode(self, postcode: str) -> str | None:
        return self.postcodes.get(postcode.replace(" ", ""))

    def search_municipalities(self, text: str, limit: int = 20) -> list[Municipality]:
        needle = normalise(text)
        found = [m for m in self.municipalities.values()
                 if needle in normalise(m.name) or m.kommunkod.startswith(needle)]
        found.sort(key=lambda m: (not normalise(m.name).startswith(needle), m.name))
        return found[:limit]

    # --- skills ----------------------------------------------------------------------
    def search_skills(self, text: str, limit: int = 20) -> list[str]:
        needle = normalise(text)
        if not needle:
            return []
        found = [label for key, label in self.skills.items() if needle in key]
        found.sort(key=lambda s: (not normalise(s).startswith(needle), len(s), s))
        return found[:limit]

    def canonical_skill(self, label: str) -> str:
        """The JobTech label when the word is one, else the word as given (trimmed)."""
        return self.skills.get(normalise(label), label.strip())


def normalise(text: str) -> str:
    """Lower case, NFC, single spaces: the key used for all text look-ups."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _rows(name: str):
    with resources.files("matchning.reference").joinpath("data", name).open(
        encoding="utf-8", newline=""
    ) as fh:
        yield from csv.DictReader(fh)


def _load() -> ReferenceData:
    ref = ReferenceData()
    for row in _rows("ssyk2012_hierarchy.csv"):
        level = int(row["level"])
        ref.occupations[row["code"]] = Occupation(
            code=row["code"], label=row["label_sv"], level=level,
            parent=row["parent_code"] or None, source="ssyk2012",
        )
    for row in _rows("ssyk2012_level4.csv"):
        if row["jobtech_ssyk4"]:
            ref.jobtech_group_of[row["ssyk4"]] = row["jobtech_ssyk4"]
    # JobTech group codes absent from SSYK 2012 (e.g. 1210 merges 1211 and 1212).
    for row in _rows("jobtech_ssyk4_groups.csv"):
        code = row["ssyk4"]
        if code not in ref.occupations:
            ref.occupations[code] = Occupation(
                code=code, label=row["label_sv"], level=4, parent=code[:3], source="jobtech"
            )
    for row in _rows("municipalities.csv"):
        ref.municipalities[row["kommunkod"]] = Municipality(
            kommunkod=row["kommunkod"], name=row["kommun"], lan_kod=row["lan_kod"],
            lan=row["lan"], lat=float(row["lat"]), lon=float(row["lon"]),
        )
    for row in _rows("postal_to_municipality.csv"):
        ref.postcodes[row["postal_code"]] = row["municipality_code"]
    for row in _rows("jobtech_occupation_names.csv"):
        ref.occupation_names.append(
            OccupationName(id=row["occupation_name_id"], name=row["occupation_name"],
                           ssyk4=row["ssyk4"])
        )
    for row in _rows("jobtech_skills.csv"):
        ref.skills[normalise(row["skill_label_sv"])] = row["skill_label_sv"]
    by_ssyk: dict[str, list[str]] = defaultdict(list)
    for row in _rows("jobtech_ssyk4_skills.csv"):
        by_ssyk[row["ssyk4"]].append(row["skill_label_sv"])
    ref.skills_by_ssyk = dict(by_ssyk)
    names = {n.id: n.ssyk4 for n in ref.occupation_names}
    subs: dict[str, dict[str, int]] = defaultdict(dict)
    for row in _rows("jobtech_occupation_substitutability.csv"):
        a, b = names.get(row["occupation_id"]), names.get(row["substituted_by_id"])
        if a and b and a != b:
            pct = int(row["substitutability_percentage"])
            subs[a][b] = max(pct, subs[a].get(b, 0))
    ref.substitutes = {k: sorted(v.items()) for k, v in subs.items()}
    for row in _rows("af_yrkesprognoser_bristindex_riket.csv"):
        if row["datatyp"] == "Bristindex" and row["geografi"] == "Riket" and row["bristvarde"]:
            ref.shortage.setdefault(row["ssyk"], {})[int(row["ar"])] = float(row["bristvarde"])
    for row in _rows("jobtech_sun_education_levels.csv"):
        ref.sun_levels[row["sun_code"]] = row["label_sv"]
    for row in _rows("jobtech_languages.csv"):
        if row["iso_639_1"]:
            ref.languages[row["iso_639_1"].lower()] = row["label_sv"]
    return ref


@lru_cache(maxsize=1)
def get_reference() -> ReferenceData:
    """The reference data, loaded on first use and shared by the process."""
    return _load()
