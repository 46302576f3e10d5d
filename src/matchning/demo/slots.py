"""Practice slots: occupation from the employer's branch, real skills, conditions and text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matchning.demo import texts as tx
from matchning.demo.employers import SIZE_SLOT_WEIGHT, Employers
from matchning.demo.occupations import (
    DEMANDS,
    LEVELS,
    OccupationTable,
    branch_job_arrays,
    sample_skills,
)
from matchning.demo.places import Geography, points_near
from matchning.demo.sampling import categorical

NO_END = 10**6            # day number standing for "no end date"
LICENCE_BITS = {"AM": 1, "B": 2, "C": 4, "CE": 8, "D": 16}
CAPACITY_P = np.array([0.55, 0.27, 0.12, 0.04, 0.02])   # 1..5 places
HOURS = np.array([20.0, 25.0, 30.0, 32.0, 40.0])
HOURS_P = np.array([0.15, 0.15, 0.25, 0.1, 0.35])
# P(no requirement, A, B, C, D, flytande) by how much the job talks with people.
SWEDISH_P = np.array([
    [0.45, 0.15, 0.2, 0.15, 0.05, 0.0],
    [0.2, 0.1, 0.25, 0.3, 0.15, 0.0],
    [0.05, 0.0, 0.1, 0.3, 0.35, 0.2],
])
MAX_CAPACITY = len(CAPACITY_P)


@dataclass
class Slots:
    employer: np.ndarray
    kommun: np.ndarray
    lat: np.ndarray           # NaN when unknown
    lon: np.ndarray
    occ: np.ndarray
    required: np.ndarray      # skill ids (n, 3), -1 padded
    nice: np.ndarray
    capacity: np.ndarray
    hours: np.ndarray         # NaN when unknown
    start: np.ndarray         # day numbers from the window start
    end: np.ndarray           # NO_END when open-ended
    licence: np.ndarray       # bit mask of LICENCE_BITS
    swedish: np.ndarray       # rank 0..4 (A..flytande), -1 when no requirement
    demand: np.ndarray        # index into DEMANDS
    accessible: np.ndarray
    supervisor: np.ndarray
    may_lead: np.ndarray
    title: list[str]
    description: list[str]

    def __len__(self) -> int:
        return len(self.employer)


def licence_list(mask: int) -> list[str]:
    return [c for c, bit in LICENCE_BITS.items() if mask & bit]


def make_slots(rng: np.random.Generator, geo: Geography, occ: OccupationTable,
               emp: Employers, n: int, horizon: int) -> Slots:
    """`n` slots; periods spread from before the window (day 0) to a month after today."""
    n_emp = len(emp)
    w = SIZE_SLOT_WEIGHT[emp.size] * rng.gamma(2.0, 0.5, n_emp)
    base = np.arange(n_emp) if n >= n_emp else rng.choice(n_emp, n, replace=False, p=w / w.sum())
    rest = rng.choice(n_emp, max(0, n - len(base)), p=w / w.sum())
    employer = np.sort(np.concatenate([base, rest]))[:n]

    branch_jobs = branch_job_arrays(occ)
    occ_idx = np.empty(n, dtype=np.int64)
    br = emp.branch[employer]
    for b, (jobs, p) in enumerate(branch_jobs):
        rows = np.flatnonzero(br == b)
        occ_idx[rows] = jobs[rng.choice(len(jobs), len(rows), p=p)]

    kommun = emp.kommun[employer].copy()
    move = np.flatnonzero(rng.random(n) < 0.15)
    for i in move:  # a few slots sit at another site of the employer in the region
        reg = geo.regions[emp.region[employer[i]]]
        pool = np.concatenate([reg.kommuner, reg.around])
        kommun[i] = pool[rng.integers(0, len(pool))]
    lat, lon = points_near(rng, geo, kommun, 3.0)
    no_point = rng.random(n) >= 0.85
    lat[no_point], lon[no_point] = np.nan, np.nan

    k_req = rng.choice(4, n, p=[0.25, 0.35, 0.25, 0.15])
    k_nice = rng.choice(4, n, p=[0.3, 0.3, 0.25, 0.15])
    picks = sample_skills(rng, occ, occ_idx, k_req + k_nice, 6)
    cols = np.arange(3)[None, :]
    required = np.where(cols < k_req[:, None], picks[:, :3], -1)
    nice_pos = np.minimum(k_req[:, None] + cols, 5)
    nice = np.where(cols < k_nice[:, None], np.take_along_axis(picks, nice_pos, 1), -1)

    capacity = rng.choice(MAX_CAPACITY, n, p=CAPACITY_P) + 1
    hours = np.where(rng.random(n) < 0.15, np.nan, rng.choice(HOURS, n, p=HOURS_P))
    start = rng.integers(-60, horizon + 31, n)
    end = np.where(rng.random(n) < 0.35, NO_END, start + rng.integers(90, 366, n))

    jobs = [occ.jobs[o] for o in occ_idx]
    talk = np.array([j.talk for j in jobs])
    swedish = categorical(rng, SWEDISH_P[talk]) - 1
    demand_p = np.array([j.demand for j in jobs])
    demand = categorical(rng, demand_p)
    u_lic = rng.random(n)
    licence = np.array([
        sum(LICENCE_BITS[c] for c in j.licence) if u < j.licence_p
        else (LICENCE_BITS["B"] if u > 0.97 else 0)
        for j, u in zip(jobs, u_lic, strict=True)])
    sector = emp.sector[employer]
    accessible = rng.random(n) < np.where(sector == 1, 0.5, 0.25)
    supervisor = rng.random(n) < np.where(sector == 2, 0.85, 0.8)
    may_lead = rng.random(n) < np.array([0.4, 0.3, 0.15])[sector]

    slots = Slots(employer, kommun, lat, lon, occ_idx, required, nice, capacity, hours,
                  start, end, licence, swedish, demand, accessible, supervisor, may_lead,
                  [], [])
    _write_texts(rng, geo, occ, emp, slots)
    return slots


def _write_texts(rng: np.random.Generator, geo: Geography, occ: OccupationTable,
                 emp: Employers, s: Slots) -> None:
    r = tx.text_random(rng)
    labels = occ.skill_lower
    for i in range(len(s)):
        o = s.occ[i]
        job = occ.jobs[o]
        pick = r.randrange(len(occ.titles[o]))
        title, t = occ.titles[o][pick], occ.titles_lower[o][pick]
        k = geo.names[s.kommun[i]]
        s.title.append(r.choice(tx.TITLE_PATTERNS).format(t=t, T=title, k=k, f=job.field))
        fill = {"t": t, "e": emp.name[s.employer[i]], "f": job.field, "k": k}
        parts = [r.choice(tx.INTRO).format(**fill)]
        req = list(dict.fromkeys(labels[j] for j in s.required[i] if j >= 0))
        nice = [x for x in dict.fromkeys(labels[j] for j in s.nice[i] if j >= 0)
                if x not in req]
        both = req + nice
        if both and r.random() < 0.7:
            r.shuffle(both)
            parts.append(r.choice(tx.TASKS).format(s=tx.join_sv(both[:3])))
        else:
            parts.append(r.choice(tx.NO_TASKS))
        if req:
            parts.append(r.choice(tx.REQUIRED).format(s=tx.join_sv(req)))
        if nice:
            parts.append(r.choice(tx.NICE).format(s=tx.join_sv(nice)))
        conditions = []
        if np.isnan(s.hours[i]):
            conditions.append(r.choice(tx.NO_HOURS))
        else:
            conditions.append(r.choice(tx.HOURS).format(h=int(s.hours[i])))
        conditions.append(r.choice(tx.SUPERVISOR if s.supervisor[i] else tx.NO_SUPERVISOR))
        conditions.append(r.choice(tx.PHYSICAL[DEMANDS[s.demand[i]]]))
        if s.accessible[i] and r.random() < 0.8:
            conditions.append(r.choice(tx.ACCESSIBLE))
        if s.licence[i]:
            classes = "/".join(licence_list(int(s.licence[i])))
            conditions.append(r.choice(tx.LICENCE).format(c=classes))
        lvl = s.swedish[i]
        key = None if lvl < 0 else ("low" if lvl <= 1 else "mid" if lvl <= 3 else "high")
        conditions.append(r.choice(tx.SWEDISH[key]))
        if s.may_lead[i]:
            conditions.append(r.choice(tx.MAY_LEAD))
        r.shuffle(conditions)
        s.description.append(" ".join(parts + conditions))


def swedish_value(rank: int) -> str | None:
    return None if rank < 0 else LEVELS[rank]
