"""Table rows (dicts of column values) for the generated world, produced lazily in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from matchning.demo import texts as tx
from matchning.demo.config import EMPLOYER_ID, PARTICIPANT_ID, PLACEMENT_ID, SLOT_ID
from matchning.demo.employers import SECTORS, SIZE_BANDS
from matchning.demo.history import ABORT_REASONS, EXITS, FEEDBACK_KEYS, OUTCOMES
from matchning.demo.occupations import DEMANDS
from matchning.demo.people import ADAPTATIONS, GENDERS, SWEDISH_LEVELS
from matchning.demo.slots import licence_list, swedish_value
from matchning.domain.snapshot import profile_snapshot

Row = dict[str, Any]


class Calendar:
    """Day numbers (0 = window start) to dates and timestamps."""

    def __init__(self, start: date):
        self.start = start
        self._d0 = np.datetime64(start, "D")

    def dates(self, days: np.ndarray) -> list[date]:
        return (self._d0 + np.asarray(days).astype("timedelta64[D]")).tolist()

    def date(self, day: int) -> date:
        return self.start + timedelta(days=int(day))

    def stamps(self, days: np.ndarray, minutes: np.ndarray) -> list[datetime]:
        """Aware UTC datetimes: `minutes` after midnight of each day."""
        t = (self._d0 + np.asarray(days).astype("timedelta64[D]")).astype("datetime64[m]")
        t = t + np.asarray(minutes).astype("timedelta64[m]")
        return [x.replace(tzinfo=UTC) for x in t.astype("datetime64[us]").tolist()]

    def stamp(self, day: int, minute: int = 8 * 60) -> datetime:
        return datetime.combine(self.date(day), time(), UTC) + timedelta(minutes=minute)


def _opt(x: float) -> float | None:
    return None if x != x else float(x)  # NaN -> NULL


def employer_rows(w, ids: dict[str, int]) -> Iterator[Row]:
    e = w.employers
    first = w.employer_since
    for i in range(len(e)):
        created = w.cal.stamp(first[i])
        yield {
            "id": ids["employers"] + i + 1, "external_id": EMPLOYER_ID.format(i + 1),
            "name": e.name[i], "orgnr": e.orgnr[i], "sector": SECTORS[e.sector[i]],
            "size_band": SIZE_BANDS[e.size[i]], "kommunkod": w.geo.codes[e.kommun[i]],
            "contact_name": e.contact_name[i], "contact_email": e.contact_email[i],
            "contact_phone": e.contact_phone[i], "created_at": created, "updated_at": created,
        }


def slot_rows(w, ids: dict[str, int]) -> Iterator[Row]:
    s, occ, cal = w.slots, w.occ, w.cal
    labels = occ.skill_labels
    for i in range(len(s)):
        created = cal.stamp(min(s.start[i], w.horizon) - 30 if s.start[i] > -30 else -60)
        yield {
            "id": ids["slots"] + i + 1, "external_id": SLOT_ID.format(i + 1),
            "employer_id": ids["employers"] + int(s.employer[i]) + 1,
            "title": s.title[i], "description": s.description[i],
            "occupation_code": occ.codes[s.occ[i]],
            "required_skills": [labels[j] for j in s.required[i] if j >= 0],
            "nice_skills": [labels[j] for j in s.nice[i] if j >= 0],
            "kommunkod": w.geo.codes[s.kommun[i]], "lat": _opt(s.lat[i]),
            "lon": _opt(s.lon[i]), "capacity": int(s.capacity[i]),
            "hours_per_week": _opt(s.hours[i]), "start_date": cal.date(s.start[i]),
            "end_date": None if s.end[i] >= w.no_end else cal.date(s.end[i]),
            "driving_licences": licence_list(int(s.licence[i])),
            "swedish_level": swedish_value(int(s.swedish[i])),
            "physical_demand": DEMANDS[s.demand[i]], "accessible": bool(s.accessible[i]),
            "supervisor": bool(s.supervisor[i]), "may_lead_to_job": bool(s.may_lead[i]),
            "status": w.slot_status[i], "version": int(w.slot_version[i]),
            "created_by": ids["users"] + int(w.slot_creator[i]) + 1,
            "created_at": created, "updated_at": created,
        }


def profile(w, i: int) -> Row:
    """The matching-relevant profile of participant `i`."""
    p, occ, cal = w.people, w.occ, w.cal
    return {
        "kommunkod": w.geo.codes[p.kommun[i]], "lat": _opt(p.lat[i]), "lon": _opt(p.lon[i]),
        "max_commute_km": float(p.commute[i]),
        "driving_licences": licence_list(int(p.licence[i])), "own_car": bool(p.own_car[i]),
        "swedish_level": SWEDISH_LEVELS[p.swedish[i]], "other_languages": p.languages[i],
        "education_level": str(p.education[i]),
        "wished_occupations": [occ.codes[o] for o in p.wished[i] if o >= 0],
        "past_work": [{"code": occ.codes[o], "years": int(y)}
                      for o, y in zip(p.past[i], p.past_years[i], strict=True) if o >= 0],
        "skills": [occ.skill_labels[k] for k in p.skills[i] if k >= 0],
        "profile_text": p.profile_text[i], "max_hours_per_week": _opt(p.max_hours[i]),
        "earliest_start": cal.date(p.earliest[i]) if p.earliest[i] >= 0 else None,
        "needs_supervisor": bool(p.needs_supervisor[i]),
        "adaptations": [a for bit, a in zip((1, 2, 4), ADAPTATIONS, strict=True)
                        if p.adaptations[i] & bit],
    }


def participant_rows(w, ids: dict[str, int]) -> Iterator[Row]:
    p, cal = w.people, w.cal
    for i in range(len(p)):
        created = cal.stamp(p.enrolled[i], 9 * 60)
        ended = w.p_status[i] == "avslutad"
        updated = cal.stamp(w.history.exit_day[i], 15 * 60) if ended else created
        yield {
            "id": ids["participants"] + i + 1,
            "unit_id": ids["units"] + int(p.unit[i]) + 1,
            "consultant_id": ids["users"] + int(w.consultant_user[i]) + 1,
            "external_id": PARTICIPANT_ID.format(i + 1), "pnr_hash": None,
            "display_name": p.name[i], "status": w.p_status[i],
            "exit_outcome": EXITS[w.history.exit_outcome[i]] if ended else None,
            "exit_date": cal.date(w.history.exit_day[i]) if ended else None,
            "enrolled_on": cal.date(p.enrolled[i]), "postcode": p.postcode[i],
            "adaptations_consent_date": cal.date(p.consent[i]) if p.consent[i] >= 0 else None,
            "target_groups": p.target_groups[i], "version": 1,
            "created_at": created, "updated_at": updated,
            **profile(w, i),
        }


def monitoring_rows(w, ids: dict[str, int]) -> Iterator[Row]:
    p = w.people
    for i in range(len(p)):
        yield {"participant_id": ids["participants"] + i + 1, "gender": GENDERS[p.gender[i]],
               "birth_year": int(p.birth_year[i]), "born_abroad": bool(p.born_abroad[i])}


def placement_rows(w, ids: dict[str, int]) -> Iterator[Row]:
    h, cal, st = w.history, w.cal, w.pl_state
    last_pi, snap = -1, None
    decline_r, note_r = st["decline_reason"], st["note"]
    proposed = cal.dates(h.proposed)
    # Created at the first event, updated at the latest (events are ordered by placement).
    ev, k_all = w.events, np.arange(len(h))
    first = np.searchsorted(ev["placement"], k_all)
    last = np.searchsorted(ev["placement"], k_all, side="right") - 1
    created_at = cal.stamps(ev["day"][first], ev["minute"][first])
    updated_at = cal.stamps(ev["day"][last], ev["minute"][last])
    for k in range(len(h)):
        i = int(h.participant[k])
        if i != last_pi:  # placement numbers follow participants: one snapshot each
            snap, last_pi = profile_snapshot(profile(w, i)), i
        yield {
            "id": ids["placements"] + k + 1, "external_id": PLACEMENT_ID.format(k + 1),
            "participant_id": ids["participants"] + i + 1,
            "slot_id": ids["slots"] + int(h.slot[k]) + 1,
            "proposed_by": ids["users"] + int(w.consultant_user[i]) + 1, "status": st["status"][k],
            "proposed_on": proposed[k],
            "decided_on": cal.date(h.decided[k]) if st["decided"][k] else None,
            "started_on": cal.date(h.started[k]) if st["started"][k] else None,
            "ended_on": cal.date(h.ended[k]) if st["ended"][k] else None,
            "decline_reason": tx.DECLINE_REASONS[decline_r[k]] if decline_r[k] >= 0 else None,
            "abort_reason": ABORT_REASONS[h.abort_reason[k]] if st["ended"][k]
            and h.abort_reason[k] >= 0 else None,
            "note": tx.NOTES[note_r[k]] if note_r[k] >= 0 else None,
            "outcome": OUTCOMES[h.outcome[k]] if st["outcome"][k] else None,
            "outcome_on": cal.date(h.outcome_on[k]) if st["outcome"][k] else None,
            "snapshot": snap, "created_at": created_at[k], "updated_at": updated_at[k],
        }


def event_rows(w, ids: dict[str, int]) -> Iterator[Row]:
    ev = w.events
    stamps = w.cal.stamps(ev["day"], ev["minute"])
    for k in range(len(ev["placement"])):
        reason = ev["reason"][k]
        yield {
            "id": ids["placement_events"] + k + 1,
            "placement_id": ids["placements"] + int(ev["placement"][k]) + 1,
            "action": ev["action"][k], "from_status": ev["from"][k], "to_status": ev["to"][k],
            "by_user_id": ids["users"] + int(ev["user"][k]) + 1, "at": stamps[k], "reason": reason,
        }


def feedback_rows(w, ids: dict[str, int]) -> Iterator[Row]:
    pi, si, day, key = w.history.feedback
    r = tx.text_random(np.random.default_rng(w.seed + 7))
    stamps = w.cal.stamps(day, 10 * 60 + (pi % 300))
    for k in range(len(pi)):
        i = int(pi[k])
        yield {
            "id": ids["feedback"] + k + 1, "participant_id": ids["participants"] + i + 1,
            "slot_id": ids["slots"] + int(si[k]) + 1,
            "user_id": ids["users"] + int(w.consultant_user[i]) + 1,
            "reason": r.choice(tx.FEEDBACK_REASONS[FEEDBACK_KEYS[key[k]]]),
            "created_at": stamps[k],
        }
