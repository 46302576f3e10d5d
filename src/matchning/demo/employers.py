"""Employers: invented names, real kommuner, valid organisationsnummer, and a hidden quality."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matchning.demo.names import AREA_WORDS, ORIGINS, ascii_slug
from matchning.demo.occupations import BRANCH_WEIGHTS, BRANCHES
from matchning.demo.places import Geography
from matchning.demo.sampling import categorical
from matchning.reference import ReferenceData

SECTORS = ("privat", "offentlig", "ideell")
SIZE_BANDS = ("1-9", "10-49", "50-249", "250+")
SIZE_P = {
    0: np.array([0.45, 0.35, 0.15, 0.05]),
    1: np.array([0.0, 0.2, 0.4, 0.4]),
    2: np.array([0.6, 0.35, 0.05, 0.0]),
}
SIZE_SLOT_WEIGHT = np.array([1.0, 1.6, 2.4, 3.2])  # bigger employers offer more slots

PUBLIC_DEPARTMENTS = {
    "vård": ("Vård- och omsorgsförvaltningen", "Äldreomsorgen", "Hemtjänsten",
             "Funktionsstöd"),
    "skola": ("Förskoleförvaltningen", "Barn- och utbildningsförvaltningen", "Kostenheten"),
    "fastighet": ("Fastighetsavdelningen", "Tekniska förvaltningen", "Parkförvaltningen"),
    "städ": ("Lokalvården", "Serviceförvaltningen, lokalvård"),
    "restaurang": ("Kostenheten", "Måltidsservice"),
    "återvinning": ("Återvinningscentralen", "Renhållningen"),
    "grönt": ("Parkenheten",),
    "service": ("Kontaktcenter", "Medborgarservice"),
    "transport": ("Fordonsenheten",),
}
IDEELL_PATTERNS = ("Föreningen Gemenskap i {k}", "Kyrkans second hand {k}",
                   "{k} Idrottsförening", "Stödföreningen {a} {k}", "Kooperativet {w} {k}",
                   "Föreningen Nystart {k}")
# PTS sets aside 070-1740605 .. 070-1740699 for fiction: phone numbers that reach no one.
FICTION_PHONES = tuple(f"070-174 06 {n:02d}" for n in range(5, 100))


@dataclass
class Employers:
    region: np.ndarray
    branch: np.ndarray
    sector: np.ndarray       # index into SECTORS
    size: np.ndarray         # index into SIZE_BANDS
    kommun: np.ndarray       # index into Geography.codes
    quality: np.ndarray      # hidden: never written to the database
    name: list[str]
    orgnr: list[str]
    contact_name: list[str | None]
    contact_email: list[str | None]
    contact_phone: list[str | None]

    def __len__(self) -> int:
        return len(self.region)


def luhn_check_digits(body: np.ndarray) -> np.ndarray:
    """Check digits for rows of 9 digits (the Luhn rule of personnummer and orgnr)."""
    doubled = body[:, 0::2] * 2
    total = (doubled - 9 * (doubled > 9)).sum(1) + body[:, 1::2].sum(1)
    return (10 - total % 10) % 10


def make_orgnr(rng: np.random.Generator, sector: np.ndarray, kommun: np.ndarray,
               geo: Geography) -> list[str]:
    """Aktiebolag 556/559…, ideella föreningar 802…; a kommun's departments share its number."""
    n = len(sector)
    body = rng.integers(0, 10, (n, 9))
    body[:, 0], body[:, 1] = 5, 5
    body[:, 2] = np.where(rng.random(n) < 0.6, 6, 9)
    ideell = sector == 2
    body[ideell, 0], body[ideell, 1], body[ideell, 2] = 8, 0, 2
    public = sector == 1
    # 212000-xxxx is the series of kommuner: derive the rest from the kommunkod.
    kod = np.array([int(c) for c in geo.codes])[kommun[public]]
    body[public, :6] = [2, 1, 2, 0, 0, 0]
    body[public, 6], body[public, 7], body[public, 8] = kod // 100 % 10, kod // 10 % 10, kod % 10
    digits = np.concatenate([body, luhn_check_digits(body)[:, None]], axis=1)
    return ["".join(map(str, row)) for row in digits.tolist()]


def make_employers(rng: np.random.Generator, geo: Geography, ref: ReferenceData, n: int,
                   region_share: np.ndarray) -> Employers:
    """`n` employers spread over the regions in proportion to `region_share`."""
    region = rng.choice(len(geo.regions), size=n, p=region_share / region_share.sum())
    branch = rng.choice(len(BRANCHES), size=n, p=BRANCH_WEIGHTS / BRANCH_WEIGHTS.sum())
    sector_p = np.array([b.sectors for b in BRANCHES])[branch]
    sector = categorical(rng, sector_p)
    size = np.empty(n, dtype=np.int64)
    for s, p in SIZE_P.items():
        mask = sector == s
        size[mask] = rng.choice(4, size=mask.sum(), p=p)
    kommun = np.empty(n, dtype=np.int64)
    for r, reg in enumerate(geo.regions):
        rows = np.flatnonzero(region == r)
        around = rng.random(len(rows)) < 0.2 if len(reg.around) else np.zeros(len(rows), bool)
        pool_own = geo.weight[reg.kommuner]
        kommun[rows] = reg.kommuner[rng.choice(len(reg.kommuner), len(rows),
                                               p=pool_own / pool_own.sum())]
        if around.any():
            kommun[rows[around]] = reg.around[rng.integers(0, len(reg.around), around.sum())]
    names = _names(rng, geo, ref, branch, sector, kommun)
    contact = ORIGINS["se"]
    u = rng.random((n, 4))
    contact_name: list[str | None] = []
    contact_email: list[str | None] = []
    contact_phone: list[str | None] = []
    for i in range(n):
        firsts = contact[0] if u[i, 0] < 0.5 else contact[1]
        person = f"{firsts[int(u[i, 1] * len(firsts))]} {contact[2][int(u[i, 2] * 25)]}"
        has = u[i, 3] < 0.92
        contact_name.append(person if has else None)
        domain = ascii_slug(names[i], "")[:24] or "arbetsgivare"
        contact_email.append(f"{ascii_slug(person)}@{domain}.example" if has else None)
        contact_phone.append(FICTION_PHONES[i % len(FICTION_PHONES)] if u[i, 3] < 0.85
                             else None)
    return Employers(
        region=region, branch=branch, sector=sector, size=size, kommun=kommun,
        quality=np.round(rng.normal(0.0, 1.0, n), 4),
        name=names, orgnr=make_orgnr(rng, sector, kommun, geo),
        contact_name=contact_name, contact_email=contact_email, contact_phone=contact_phone,
    )


def _names(rng: np.random.Generator, geo: Geography, ref: ReferenceData,
           branch: np.ndarray, sector: np.ndarray, kommun: np.ndarray) -> list[str]:
    surnames = ORIGINS["se"][2]
    u = rng.random((len(branch), 4))
    out = []
    for i in range(len(branch)):
        b = BRANCHES[branch[i]]
        k = geo.names[kommun[i]]
        area = AREA_WORDS[int(u[i, 1] * len(AREA_WORDS))]
        word = b.words[int(u[i, 0] * len(b.words))]
        if sector[i] == 1:
            depts = PUBLIC_DEPARTMENTS.get(b.key, ("Kommunledningsförvaltningen",))
            dept = depts[int(u[i, 2] * len(depts))]
            if b.key == "vård" and u[i, 3] < 0.25:
                lan = ref.municipalities[geo.codes[kommun[i]]].lan.removesuffix(" län")
                out.append(f"Region {lan.removesuffix('s')}, vårdcentralen {k}")
            else:
                out.append(f"{k} kommun, {dept}")
        elif sector[i] == 2:
            pattern = IDEELL_PATTERNS[int(u[i, 2] * len(IDEELL_PATTERNS))]
            out.append(pattern.format(k=k, a=area, w=word))
        else:
            style = int(u[i, 2] * 4)
            if style == 0:
                out.append(f"{k} {word} AB")
            elif style == 1:
                out.append(f"{surnames[int(u[i, 3] * len(surnames))]}s {word} AB")
            elif style == 2:
                out.append(f"{area} {word} i {k} AB")
            else:
                out.append(f"{word} {surnames[int(u[i, 3] * len(surnames))]} & Co HB")
    return out
