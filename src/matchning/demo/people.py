"""Participants of the five target groups: profile fields, Swedish profile text, and the
fairness-monitoring fields kept apart from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matchning.demo import texts as tx
from matchning.demo.names import ABROAD_P, DOMESTIC_P, ORIGIN_KEYS, ORIGINS, pick_names
from matchning.demo.occupations import OccupationTable, sample_skills
from matchning.demo.places import Geography, pick_kommun, pick_postcodes, points_near
from matchning.demo.sampling import categorical, dedupe_rows, top_k_distinct
from matchning.demo.slots import LICENCE_BITS
from matchning.reference import ReferenceData

GROUPS = ("ungdom", "långtidsarbetslös", "nyanländ", "rehabilitering", "försörjningsstöd")
YOUTH, LONG_TERM, NEW_ARRIVAL, REHAB, INCOME = range(5)
GROUP_P = np.array([0.24, 0.24, 0.2, 0.12, 0.2])
GENDERS = ("kvinna", "man", "annat")
SWEDISH_LEVELS = ("A", "B", "C", "D", "flytande", "modersmål")
ADAPTATIONS = ("inga tunga lyft", "tillgänglig arbetsplats", "reducerad arbetstid")
NO_LIFT, ACCESS, REDUCED = 1, 2, 4   # bits of the adaptation mask, in ADAPTATIONS order
EDU_P = {  # SUN level 1 codes "1".."6"
    YOUTH: [0.1, 0.6, 0.3, 0.0, 0.0, 0.0],
    NEW_ARRIVAL: [0.25, 0.25, 0.25, 0.1, 0.12, 0.03],
    "other": [0.03, 0.3, 0.5, 0.09, 0.08, 0.0],
}
LICENCE_P = np.array([0.25, 0.55, 0.15, 0.45, 0.45])
SUPERVISOR_P = np.array([0.5, 0.35, 0.45, 0.7, 0.35])
ABROAD_BY_GROUP = np.array([0.25, 0.3, 1.0, 0.25, 0.45])


@dataclass
class Participants:
    unit: np.ndarray
    consultant: np.ndarray        # index into the unit's consultants (mapped to users later)
    group: np.ndarray             # primary target group (drives the world, never a feature)
    target_groups: list[list[str]]
    name: list[str]
    kommun: np.ndarray
    postcode: np.ndarray          # object array, None when unknown
    lat: np.ndarray
    lon: np.ndarray
    commute: np.ndarray
    licence: np.ndarray           # bit mask
    own_car: np.ndarray
    swedish: np.ndarray           # rank 0..5 in SWEDISH_LEVELS
    languages: list[list[str]]
    education: np.ndarray         # SUN code as str
    wished: np.ndarray            # occupation indices (n, 3), -1 padded
    past: np.ndarray              # (n, 3)
    past_years: np.ndarray
    skills: np.ndarray            # skill ids (n, 8)
    max_hours: np.ndarray         # NaN when not stated
    needs_supervisor: np.ndarray
    adaptations: np.ndarray       # bit mask
    enrolled: np.ndarray          # day numbers from the window start
    earliest: np.ndarray          # day number, -1 when not stated
    consent: np.ndarray           # day number of consent to adaptations, -1 when none
    profile_text: list[str]
    gender: np.ndarray            # monitoring only
    birth_year: np.ndarray        # monitoring only
    born_abroad: np.ndarray       # monitoring only

    def __len__(self) -> int:
        return len(self.unit)


def make_participants(rng: np.random.Generator, geo: Geography, occ: OccupationTable,
                      ref: ReferenceData, unit: np.ndarray, consultants: np.ndarray,
                      horizon: int, this_year: int) -> Participants:
    """One participant per entry of `unit`; `consultants[u]` is the size of unit u's team."""
    n = len(unit)
    group = rng.choice(5, n, p=GROUP_P)
    u = rng.random((n, 8))
    targets = [[GROUPS[g]] for g in group]
    for i in np.flatnonzero(((group == LONG_TERM) | (group == NEW_ARRIVAL)) & (u[:, 0] < 0.35)):
        targets[i].append(GROUPS[INCOME])
    for i in np.flatnonzero((group == LONG_TERM) & (u[:, 1] < 0.1)):
        targets[i].append(GROUPS[REHAB])

    gender = rng.choice(3, n, p=[0.47, 0.515, 0.015])
    age = np.where(group == YOUTH, rng.integers(16, 25, n),
                   np.where(group == NEW_ARRIVAL, rng.integers(20, 56, n),
                            rng.integers(25, 65, n)))
    born_abroad = u[:, 2] < ABROAD_BY_GROUP[group]
    origin = np.where(born_abroad, rng.choice(len(ORIGIN_KEYS), n, p=ABROAD_P),
                      rng.choice(len(ORIGIN_KEYS), n, p=DOMESTIC_P))
    woman = (gender == 0) | ((gender == 2) & (u[:, 3] < 0.5))
    names = pick_names(rng, origin, woman)

    swedish = np.full(n, 5)
    swedish[(origin != 0) & (u[:, 4] < 0.25)] = 4
    abroad = born_abroad & (group != NEW_ARRIVAL)
    swedish[abroad] = rng.choice(6, abroad.sum(), p=[0, 0, 0.08, 0.25, 0.67, 0])
    new = group == NEW_ARRIVAL
    swedish[new] = rng.choice(6, new.sum(), p=[0.15, 0.3, 0.3, 0.2, 0.05, 0])
    languages = []
    for i in range(n):
        langs = list(ORIGINS[ORIGIN_KEYS[origin[i]]][3])
        if u[i, 5] < (0.6 if origin[i] == 0 else 0.4):
            langs.append("en")
        languages.append([c for c in langs if c in ref.languages])

    edu_rows = np.array([EDU_P.get(g, EDU_P["other"]) for g in range(5)])[group]
    education = (categorical(rng, edu_rows) + 1).astype(str)

    kommun = np.empty(n, dtype=np.int64)
    for unit_no, place in enumerate(geo.units):
        rows = np.flatnonzero(unit == unit_no)
        kommun[rows] = pick_kommun(rng, geo, place.kommuner, len(rows))
    postcode = pick_postcodes(rng, geo, kommun)
    postcode[rng.random(n) >= 0.92] = None
    lat, lon = points_near(rng, geo, kommun, 3.0)
    no_point = (rng.random(n) >= 0.4) | (postcode == None)  # noqa: E711 (object array)
    lat[no_point], lon[no_point] = np.nan, np.nan

    has_b = rng.random(n) < LICENCE_P[group]
    licence = np.where(has_b, LICENCE_BITS["B"], 0)
    licence |= np.where((group == YOUTH) & (u[:, 6] < 0.1), LICENCE_BITS["AM"], 0)
    licence |= np.where(has_b & (rng.random(n) < 0.04), LICENCE_BITS["C"], 0)
    licence |= np.where(has_b & (rng.random(n) < 0.01), LICENCE_BITS["D"], 0)
    own_car = has_b & (rng.random(n) < 0.6)
    commute = np.where(own_car, rng.integers(5, 13, n) * 5.0, rng.integers(2, 7, n) * 5.0)

    rehab = group == REHAB
    adapt = np.zeros(n, dtype=np.int64)
    ua = rng.random((n, 3))
    adapt |= np.where(ua[:, 0] < np.where(rehab, 0.4, 0.04), NO_LIFT, 0)
    adapt |= np.where(ua[:, 1] < np.where(rehab, 0.15, 0.01), ACCESS, 0)
    adapt |= np.where(ua[:, 2] < np.where(rehab, 0.5, 0.03), REDUCED, 0)
    max_hours = rng.choice(np.array([np.nan, 40.0, 30.0, 20.0]), n, p=[0.2, 0.5, 0.2, 0.1])
    reduced = (adapt & REDUCED) > 0
    max_hours[rehab] = rng.choice(np.array([10.0, 15.0, 20.0, 25.0, 30.0]), rehab.sum())
    max_hours[reduced] = np.minimum(np.nan_to_num(max_hours[reduced], nan=20.0), 25.0)
    needs_supervisor = rng.random(n) < SUPERVISOR_P[group]

    wished, past, years, skills = _experience(rng, occ, group, n)
    enrolled = rng.integers(0, max(1, horizon), n)
    earliest = np.where(rng.random(n) < 0.7, enrolled + rng.integers(0, 31, n), -1)
    consent = np.where(adapt > 0, enrolled + rng.integers(1, 21, n), -1)
    team = consultants[unit]
    participants = Participants(
        unit=unit, consultant=(rng.random(n) * team).astype(np.int64), group=group,
        target_groups=targets, name=names, kommun=kommun, postcode=postcode, lat=lat, lon=lon,
        commute=commute, licence=licence, own_car=own_car, swedish=swedish,
        languages=languages, education=education, wished=wished, past=past, past_years=years,
        skills=skills, max_hours=max_hours, needs_supervisor=needs_supervisor,
        adaptations=adapt, enrolled=enrolled, earliest=earliest, consent=consent,
        profile_text=[], gender=gender, birth_year=this_year - age, born_abroad=born_abroad,
    )
    _write_profiles(rng, occ, ref, participants)
    return participants


def _experience(rng: np.random.Generator, occ: OccupationTable, group: np.ndarray, n: int):
    k_wish = rng.choice([1, 2, 3], n, p=[0.35, 0.4, 0.25])
    wished = top_k_distinct(rng, occ.wish_weight, k_wish, 3)
    youth = group == YOUTH
    k_past = np.where(youth, rng.choice(3, n, p=[0.65, 0.3, 0.05]),
                      rng.choice(4, n, p=[0.2, 0.35, 0.3, 0.15]))
    flat = np.full(len(occ.codes), 1.0 / len(occ.codes))
    past = top_k_distinct(rng, flat, k_past, 3)
    years = np.where(past >= 0, np.minimum(rng.geometric(0.3, (n, 3)), 15), 0)
    years[youth] = np.minimum(years[youth], 1)
    # Half of those with experience wish to go back to their first occupation.
    back = (past[:, 0] >= 0) & (rng.random(n) < 0.5) & (wished != past[:, :1]).all(1)
    wished[back, 0] = past[back, 0]
    first_past = np.where(past[:, 0] >= 0, past[:, 0], wished[:, 0])
    parts = [
        sample_skills(rng, occ, first_past, rng.integers(1, 5, n), 4),
        sample_skills(rng, occ, wished[:, 0], rng.integers(0, 3, n), 2),
    ]
    second = past[:, 1] >= 0
    extra = np.full((n, 2), -1, dtype=np.int32)
    extra[second] = sample_skills(rng, occ, past[second, 1], rng.integers(0, 3, second.sum()), 2)
    parts.append(extra)
    return wished, past, years, dedupe_rows(np.concatenate(parts, axis=1))


def _write_profiles(rng: np.random.Generator, occ: OccupationTable, ref: ReferenceData,
                    p: Participants) -> None:
    r = tx.text_random(rng)
    lang_label = {c: ref.languages[c].split("/")[0].lower() for c in ref.languages}
    for i in range(len(p)):
        wished = [o for o in p.wished[i] if o >= 0]
        w = r.choice(occ.titles_lower[wished[0]])
        f2 = occ.jobs[wished[-1]].field
        parts = [r.choice(tx.WISH).format(w=w, f=occ.jobs[wished[0]].field, f2=f2)]
        past = [(o, y) for o, y in zip(p.past[i], p.past_years[i], strict=True) if o >= 0]
        if past:
            o, y = past[0]
            parts.append(r.choice(tx.PAST).format(p=r.choice(occ.titles_lower[o]), y=int(y)))
        else:
            parts.append(r.choice(tx.NO_PAST))
        skills = list(dict.fromkeys(occ.skill_lower[s] for s in p.skills[i] if s >= 0))
        if skills:
            parts.append(r.choice(tx.SKILLS).format(s=tx.join_sv(skills[:3])))
        if p.languages[i] and r.random() < 0.7:
            spoken = ["svenska"] if p.swedish[i] >= 3 else []
            spoken += [lang_label[c] for c in p.languages[i]]
            parts.append(f"Talar {tx.join_sv(spoken)}.")
        if p.own_car[i]:
            parts.append("Har B-körkort och egen bil.")
        elif p.licence[i] & LICENCE_BITS["B"]:
            parts.append("Har körkort men ingen bil.")
        elif r.random() < 0.5:
            parts.append("Saknar körkort och åker kollektivt.")
        if p.needs_supervisor[i]:
            parts.append(r.choice(tx.SUPPORT))
        if not np.isnan(p.max_hours[i]) and r.random() < 0.6:
            parts.append(f"Kan arbeta {int(p.max_hours[i])} timmar i veckan.")
        parts.extend(r.sample(tx.TRAITS, r.randint(1, 2)))
        p.profile_text.append(" ".join(parts))
