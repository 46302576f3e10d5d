"""The occupations of the demo world and the branches employers work in.

Codes are real SSYK 2012 unit groups, mostly jobs without education requirements (the
JobTech collection in reference/data) plus the common practice jobs of the target groups.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np

from matchning.demo.texts import lower_first
from matchning.reference import ReferenceData

LEVELS = ("A", "B", "C", "D", "flytande", "modersmål")  # SwedishLevel values in rank order
DEMANDS = ("lätt", "medel", "tung")                      # PhysicalDemand values


@dataclass(frozen=True)
class Job:
    code: str
    demand: tuple[float, float, float]  # P(lätt, medel, tung)
    talk: int                           # 0 back office .. 2 talks with customers or patients
    licence: tuple[str, ...] = ()       # required classes when the job needs a licence
    licence_p: float = 0.0              # how often it does
    field: str = ""                     # Swedish words for "work with ..."


JOBS: tuple[Job, ...] = (
    Job("4322", (0.1, 0.5, 0.4), 0, ("B",), 0.05, "lager och logistik"),
    Job("8344", (0.2, 0.5, 0.3), 0, ("B",), 0.2, "truckkörning"),
    Job("9332", (0.0, 0.4, 0.6), 0, (), 0.0, "varuhantering"),
    Job("9320", (0.1, 0.5, 0.4), 0, (), 0.0, "packning och produktion"),
    Job("9111", (0.1, 0.6, 0.3), 0, (), 0.0, "städ och lokalvård"),
    Job("9120", (0.1, 0.6, 0.3), 0, ("B",), 0.2, "bilvård och rengöring"),
    Job("5222", (0.3, 0.6, 0.1), 2, (), 0.0, "butik och handel"),
    Job("5223", (0.5, 0.4, 0.1), 2, (), 0.0, "butik och handel"),
    Job("5230", (0.7, 0.3, 0.0), 2, (), 0.0, "kassa och kundservice"),
    Job("5225", (0.4, 0.5, 0.1), 2, (), 0.0, "service och försäljning"),
    Job("9412", (0.1, 0.6, 0.3), 0, (), 0.0, "restaurang och kök"),
    Job("9413", (0.3, 0.6, 0.1), 1, (), 0.0, "kafé och servering"),
    Job("9411", (0.2, 0.6, 0.2), 1, (), 0.0, "snabbmat och kök"),
    Job("5120", (0.1, 0.6, 0.3), 1, (), 0.0, "matlagning"),
    Job("5131", (0.2, 0.6, 0.2), 2, (), 0.0, "servering"),
    Job("5330", (0.1, 0.5, 0.4), 2, (), 0.0, "vård och omsorg"),
    Job("5321", (0.1, 0.5, 0.4), 2, ("B",), 0.4, "vård och omsorg"),
    Job("5343", (0.2, 0.5, 0.3), 2, ("B",), 0.2, "stöd och omsorg"),
    Job("5342", (0.4, 0.5, 0.1), 2, (), 0.0, "boendestöd"),
    Job("5311", (0.3, 0.6, 0.1), 2, (), 0.0, "barn och förskola"),
    Job("5312", (0.5, 0.5, 0.0), 2, (), 0.0, "skola och elevstöd"),
    Job("5152", (0.1, 0.5, 0.4), 1, ("B",), 0.4, "fastighetsskötsel"),
    Job("9622", (0.2, 0.6, 0.2), 1, ("B",), 0.2, "vaktmästeri"),
    Job("6113", (0.0, 0.4, 0.6), 0, ("B",), 0.3, "park och trädgård"),
    Job("9310", (0.0, 0.3, 0.7), 0, ("B",), 0.2, "bygg och anläggning"),
    Job("7131", (0.1, 0.6, 0.3), 0, (), 0.0, "måleri"),
    Job("7111", (0.0, 0.4, 0.6), 0, ("B",), 0.2, "bygg och snickeri"),
    Job("8332", (0.1, 0.5, 0.4), 1, ("C",), 1.0, "transport"),
    Job("8329", (0.4, 0.5, 0.1), 1, ("B",), 1.0, "bud och transport"),
    Job("4420", (0.1, 0.5, 0.4), 0, ("B",), 0.5, "post och distribution"),
    Job("9621", (0.1, 0.5, 0.4), 0, (), 0.0, "distribution"),
    Job("9610", (0.0, 0.4, 0.6), 0, ("B",), 0.3, "återvinning"),
    Job("8213", (0.2, 0.6, 0.2), 0, (), 0.0, "montering och industri"),
    Job("4222", (0.9, 0.1, 0.0), 2, (), 0.0, "kundtjänst"),
    Job("4225", (0.9, 0.1, 0.0), 2, (), 0.0, "reception och kontor"),
    Job("4224", (0.6, 0.4, 0.0), 2, (), 0.0, "hotell och reception"),
    Job("9629", (0.3, 0.5, 0.2), 1, (), 0.0, "service"),
    Job("9119", (0.3, 0.5, 0.2), 1, (), 0.0, "hemservice"),
    Job("9210", (0.0, 0.3, 0.7), 0, (), 0.0, "odling och skog"),
    Job("7231", (0.1, 0.6, 0.3), 0, (), 0.0, "fordonsverkstad"),
)


@dataclass(frozen=True)
class Branch:
    key: str
    sectors: tuple[float, float, float]   # P(privat, offentlig, ideell)
    jobs: dict[str, float]                 # SSYK4 -> weight among the branch's slots
    words: tuple[str, ...]                 # name parts for private employers


BRANCHES: tuple[Branch, ...] = (
    Branch("lager", (1.0, 0.0, 0.0), {"4322": 5, "8344": 2, "9332": 3, "9320": 2},
           ("Lager & Logistik", "Logistik", "Terminal", "Distribution", "Lagerservice")),
    Branch("städ", (0.85, 0.15, 0.0), {"9111": 8, "9120": 2},
           ("Städservice", "Lokalvård", "Städ & Fönsterputs", "Rent & Fint", "Städtjänst")),
    Branch("handel", (0.9, 0.0, 0.1), {"5222": 5, "5223": 4, "5230": 2, "9332": 2,
                                       "5225": 1},
           ("Livs", "Handelsbod", "Järnhandel", "Bygghandel", "Matmarknad", "Second hand")),
    Branch("restaurang", (0.75, 0.15, 0.1), {"9412": 6, "9413": 2, "9411": 2, "5120": 2,
                                             "5131": 2},
           ("Restaurang", "Kök & Bar", "Café", "Bistro", "Pizzeria", "Catering")),
    Branch("vård", (0.25, 0.75, 0.0), {"5330": 5, "5321": 4, "5343": 3, "5342": 2},
           ("Omsorg", "Assistans", "Hemtjänst", "Vårdboende")),
    Branch("skola", (0.15, 0.85, 0.0), {"5311": 5, "5312": 4, "9412": 1, "9622": 1},
           ("Förskola", "Friskola", "Montessoriförskola")),
    Branch("fastighet", (0.6, 0.4, 0.0), {"5152": 6, "9622": 3, "6113": 3, "9111": 1},
           ("Fastigheter", "Fastighetsservice", "Bostäder", "Trädgårdsservice")),
    Branch("bygg", (1.0, 0.0, 0.0), {"9310": 5, "7131": 2, "7111": 3},
           ("Bygg", "Bygg & Måleri", "Mark & Anläggning", "Måleri", "Byggservice")),
    Branch("transport", (0.95, 0.05, 0.0), {"8332": 3, "8329": 3, "4420": 2, "9621": 2,
                                            "4322": 1},
           ("Åkeri", "Transport", "Budservice", "Frakt")),
    Branch("återvinning", (0.4, 0.4, 0.2), {"9610": 6, "9332": 1, "5223": 1},
           ("Återvinning", "Miljötjänst", "Återbruk")),
    Branch("industri", (1.0, 0.0, 0.0), {"8213": 4, "9320": 4, "4322": 1},
           ("Mekaniska", "Plast", "Industri", "Verkstad", "Produktion")),
    Branch("service", (0.7, 0.1, 0.2), {"4222": 3, "4225": 2, "4224": 2, "9629": 3,
                                        "9119": 1},
           ("Kundservice", "Hotell", "Kontorsservice", "Eventservice")),
    Branch("grönt", (0.7, 0.2, 0.1), {"6113": 4, "9210": 3},
           ("Trädgård", "Handelsträdgård", "Plantskola", "Skog & Mark")),
    Branch("fordon", (1.0, 0.0, 0.0), {"7231": 3, "9120": 3, "5225": 1},
           ("Bilverkstad", "Bilvård", "Däck & Service", "Motor")),
)
# Share of employers per branch.
BRANCH_WEIGHTS = np.array([8, 6, 10, 9, 8, 5, 5, 6, 5, 3, 5, 4, 3, 3], dtype=float)

# Skills that a practice slot would not ask for (certificates, authorisations, ...).
_UNFIT_SKILL = re.compile(
    r"certifikat|behörighet|auktorisation|adr|specialisering|utbildning|licens|steg [23]|"
    r"kategori|examen|legitimation|yrkesbevis|fsd|sjöfart|fartyg|ledning|ledare",
    re.IGNORECASE)


@dataclass
class OccupationTable:
    codes: list[str]                 # index -> SSYK4
    code_int: np.ndarray             # int(code): prefixes by integer division
    jobs: list[Job]
    titles: list[list[str]]          # occupation names for slot titles
    labels: list[str]
    skills: list[np.ndarray]         # skill ids per occupation
    skill_labels: list[str]          # skill id -> JobTech label
    skill_lower: list[str]           # the same as running text
    titles_lower: list[list[str]]
    wish_weight: np.ndarray          # how often participants wish for each occupation


def no_education_codes() -> set[str]:
    path = resources.files("matchning.reference").joinpath(
        "data", "jobtech_occupations_no_education_requirement.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["ssyk4"] for row in csv.DictReader(fh)}


def build_occupations(ref: ReferenceData) -> OccupationTable:
    """The demo occupations with their titles and practice-friendly JobTech skills."""
    no_edu = no_education_codes()
    names_by_code: dict[str, list[str]] = {}
    for n in ref.occupation_names:
        names_by_code.setdefault(n.ssyk4, []).append(n.name)
    skill_index: dict[str, int] = {}
    skill_labels: list[str] = []
    codes, titles, labels, skills = [], [], [], []
    for job in JOBS:
        if not ref.is_unit_group(job.code):
            raise ValueError(f"demo occupation {job.code} is not in the reference")
        codes.append(job.code)
        labels.append(ref.occupation_label(job.code) or job.code)
        names = [n.split("/")[0].strip() for n in names_by_code.get(job.code, [])]
        titles.append(sorted(set(names)) or [labels[-1]])
        fit = [s for s in ref.skills_by_ssyk.get(job.code, []) if not _UNFIT_SKILL.search(s)]
        ids = []
        for s in fit:
            if s not in skill_index:
                skill_index[s] = len(skill_labels)
                skill_labels.append(s)
            ids.append(skill_index[s])
        skills.append(np.array(ids, dtype=np.int32))
    # People wish most for the jobs without education requirements and the common ones.
    wish = np.array([1.6 if c in no_edu else 1.0 for c in codes])
    return OccupationTable(
        codes=codes, code_int=np.array([int(c) for c in codes]), jobs=list(JOBS),
        titles=titles, labels=labels, skills=skills, skill_labels=skill_labels,
        # Running text drops qualifiers: "Födoämnesallergi, kunskap om" -> "födoämnesallergi".
        skill_lower=[lower_first(x.split(", ")[0]) for x in skill_labels],
        titles_lower=[[lower_first(t) for t in ts] for ts in titles],
        wish_weight=wish / wish.sum(),
    )


def branch_job_arrays(occ: OccupationTable) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per branch: occupation indices and their probabilities."""
    pos = {c: i for i, c in enumerate(occ.codes)}
    out = []
    for b in BRANCHES:
        idx = np.array([pos[c] for c in b.jobs])
        w = np.array(list(b.jobs.values()), dtype=float)
        out.append((idx, w / w.sum()))
    return out


def sample_skills(rng: np.random.Generator, occ: OccupationTable, occ_idx: np.ndarray,
                  k: np.ndarray, width: int) -> np.ndarray:
    """Up to `k[i]` distinct skill ids of occupation `occ_idx[i]`, padded with -1."""
    out = np.full((len(occ_idx), width), -1, dtype=np.int32)
    for o in np.unique(occ_idx):
        pool = occ.skills[o]
        rows = np.flatnonzero(occ_idx == o)
        if len(pool) == 0 or len(rows) == 0:
            continue
        # A random permutation per row, via argsort of uniforms: distinct picks.
        take = min(width, len(pool))
        order = np.argsort(rng.random((len(rows), len(pool))), axis=1)[:, :take]
        picked = pool[order]
        keep = np.arange(take)[None, :] < np.minimum(k[rows], take)[:, None]
        out[rows, :take] = np.where(keep, picked, -1)
    return out
