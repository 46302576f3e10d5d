"""Builds the whole demo world in memory (numpy arrays), ready to be written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from matchning.demo.config import PARTICIPANTS_PER_CONSULTANT, DemoConfig
from matchning.demo.employers import Employers, make_employers
from matchning.demo.history import History, simulate
from matchning.demo.occupations import OccupationTable, build_occupations
from matchning.demo.outcome import WEIGHTS
from matchning.demo.people import Participants, make_participants
from matchning.demo.places import Geography, build_geography
from matchning.demo.rows import Calendar
from matchning.demo.slots import NO_END, Slots, make_slots
from matchning.demo.state import (
    events,
    participant_status,
    placement_state,
    slot_status,
    slot_versions,
)
from matchning.demo.users import Staff, make_staff
from matchning.reference import get_reference

STREAMS = ("employers", "slots", "people", "staff", "history", "state")
EMPLOYER_USER_SHARE = 0.05


@dataclass
class World:
    config: DemoConfig
    seed: int
    cal: Calendar
    horizon: int               # today as a day number
    no_end: int
    geo: Geography
    occ: OccupationTable
    employers: Employers
    employer_since: np.ndarray
    slots: Slots
    people: Participants
    staff: Staff
    history: History
    consultant_user: np.ndarray    # per participant: 0-based position in staff.rows
    slot_creator: np.ndarray       # per slot: position in staff.rows
    pl_state: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    p_status: list[str]
    slot_status: list[str]
    slot_version: np.ndarray


def build_world(cfg: DemoConfig) -> World:
    """Everything but the database ids; the same config and today give the same world."""
    assert cfg.today is not None
    ref = get_reference()
    rngs = dict(zip(STREAMS, (np.random.default_rng(s) for s in
                              np.random.SeedSequence(cfg.seed).spawn(len(STREAMS))),
                    strict=True))
    start = cfg.today - timedelta(days=round(cfg.months * 30.44))
    horizon = (cfg.today - start).days
    cal = Calendar(start)
    geo = build_geography(ref, cfg.units)
    occ = build_occupations(ref)

    per_unit = np.full(cfg.units, cfg.participants // cfg.units)
    per_unit[: cfg.participants % cfg.units] += 1
    unit = np.repeat(np.arange(cfg.units), per_unit)
    team = np.maximum(2, np.round(per_unit / PARTICIPANTS_PER_CONSULTANT)).astype(np.int64)
    region_share = np.bincount([u.region for u in geo.units], weights=per_unit,
                               minlength=len(geo.regions)).astype(float) + 1e-9

    emp = make_employers(rngs["employers"], geo, ref, cfg.employers, region_share)
    slots = make_slots(rngs["slots"], geo, occ, emp, cfg.slots, horizon)
    people = make_participants(rngs["people"], geo, occ, ref, unit, team, horizon,
                               cfg.today.year)

    r = rngs["staff"]
    k_emp = min(cfg.employers, max(3, round(cfg.employers * EMPLOYER_USER_SHARE)))
    with_slots = np.unique(slots.employer)
    pool = with_slots if len(with_slots) >= k_emp else np.arange(cfg.employers)
    employer_users = np.sort(r.choice(pool, k_emp, replace=False))
    staff = make_staff(r, geo, team, employer_users, cal.stamp(-90))
    consultant_user = staff.consultant_start[people.unit] + people.consultant
    slot_creator = _slot_creators(r, geo, emp, slots, staff)

    history = simulate(rngs["history"], geo, occ, people, slots, emp, WEIGHTS[cfg.variant],
                       horizon, cfg.seed)
    rs = rngs["state"]
    st = placement_state(rs, history, horizon)
    emp_user_of = np.full(cfg.employers, -1)
    for e, pos in staff.employer_user.items():
        emp_user_of[e] = pos
    ev = events(rs, history, st, consultant_user[history.participant],
                emp_user_of[slots.employer[history.slot]])
    since = np.full(cfg.employers, -60)
    np.minimum.at(since, slots.employer, slots.start - 45)
    return World(
        config=cfg, seed=cfg.seed, cal=cal, horizon=horizon, no_end=NO_END, geo=geo, occ=occ,
        employers=emp, employer_since=np.maximum(since, -400), slots=slots, people=people,
        staff=staff, history=history, consultant_user=consultant_user,
        slot_creator=slot_creator, pl_state=st, events=ev,
        p_status=participant_status(rs, history, st, len(people), horizon),
        slot_status=slot_status(rs, slots, history, st, horizon),
        slot_version=slot_versions(ev, history, len(slots)),
    )


def _slot_creators(rng: np.random.Generator, geo: Geography, emp: Employers, slots: Slots,
                   staff: Staff) -> np.ndarray:
    """Who registered each slot: the employer's own user, or a consultant of a unit in the
    region (consultants often register slots after a phone call)."""
    n = len(slots)
    out = np.empty(n, dtype=np.int64)
    region_units: dict[int, list[int]] = {}
    for i, u in enumerate(geo.units):
        region_units.setdefault(u.region, []).append(i)
    u1, u2 = rng.random(n), rng.random(n)
    for k in range(n):
        e = int(slots.employer[k])
        if e in staff.employer_user and u1[k] < 0.5:
            out[k] = staff.employer_user[e]
            continue
        units = region_units[int(emp.region[e])]
        unit = units[int(u1[k] * len(units))]
        out[k] = staff.consultant_start[unit] + int(u2[k] * staff.team_size[unit])
    return out

