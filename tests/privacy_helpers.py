"""A small history world for the privacy tests, and a scan of every table and file.

One participant (`DISTINCT`) has a distinctive value in every personal field, placements,
feedback and audit rows; twelve ordinary ones give the history enough rows to train on.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import joblib
from sqlalchemy import Engine, MetaData, select

from matchning import security
from matchning.domain.placement_flow import Action
from matchning.domain.principal import Principal
from matchning.domain.records import ParticipantData
from matchning.domain.vocab import PlacementOutcome, Role
from matchning.ml.text import swedish_tokens
from matchning.services import feedback, participants, placements
from matchning.services.context import Context
from matchning.storage.db import unit_of_work
from tests.factories import World
from tests.helpers_api import quick_user

PNR = "19811218-9876"  # Luhn-valid, from Skatteverket's test series
FREE_TEXT = ("Zyxqvistsk bakgrund som glasblåsare i Qwörnbyviken; har epilepsi och "
             "behöver vila efter lunch.")
DISTINCT: dict[str, Any] = {
    "display_name": "Zyxwa Qvörnström-Ekelöf",
    "external_id": "ZQ-EXT-81723",
    "personnummer": PNR,
    "profile_text": FREE_TEXT,
    "postcode": "987 65",
    "kommunkod": "0180",
    "lat": 59.314159, "lon": 18.271828,
    "max_commute_km": 17.25,
    "driving_licences": ["B", "CE"], "own_car": True,
    "swedish_level": "C", "other_languages": ["ti"], "education_level": "2",
    "wished_occupations": ["4322"], "past_work": [{"code": "9111", "years": 3}],
    "skills": ["Bergtruck", "Zyxqvistsvetsning"],
    "max_hours_per_week": 30, "earliest_start": date(2026, 2, 17),
    "needs_supervisor": True,
    "adaptations": ["inga tunga lyft", "reducerad arbetstid"],
    "adaptations_consent_date": date(2026, 1, 13),
    "target_groups": ["rehabilitering", "nyanländ"],
    "gender": "annat", "birth_year": 1937, "born_abroad": True,
}
NOTE = "Zyxwa ringer helst på förmiddagen."
DECLINE = "Qvörnström passar inte i vår grupp."
FEEDBACK = "Zyxwa vill inte pendla över bron."


def needles(secret_key: str) -> list[str]:
    """Every distinctive string of the person (searched as substrings), with the stems the
    text vectoriser would make of the distinctive words."""
    pnr = security.normalise_personnummer(PNR)
    assert pnr is not None
    odd = ["Zyxwa", "Qvörnström", "Ekelöf", "Zyxqvistsk", "Qwörnbyviken", "Zyxqvistsvetsning"]
    stems = [t for t in swedish_tokens(" ".join(odd)) if len(t) >= 5]
    return sorted({DISTINCT["display_name"], DISTINCT["external_id"], FREE_TEXT, NOTE, DECLINE,
                   FEEDBACK, PNR, "19" + pnr, pnr, security.personnummer_hash(secret_key, pnr),
                   "epilepsi", "pendla över bron", "passar inte i vår grupp", *odd, *stems})


# Values too short or too plain to search inside other text: compared whole.
EXACT: list[Any] = ["98765", "987 65", DISTINCT["lat"], DISTINCT["lon"],
                    DISTINCT["max_commute_km"]]


@dataclass
class HistoryWorld:
    unit_id: int
    consultant: Principal
    person: int
    others: list[int]
    slots: list[int]
    placements: dict[str, int] = field(default_factory=dict)


def consultant_context(session, principal: Principal, settings) -> Context:
    return Context(session=session, principal=principal, settings=settings)


def build(world: World) -> HistoryWorld:
    """The distinctive participant with completed, aborted and declined placements and two
    "passar inte"; twelve others with finished placements."""
    unit = world.unit(name="AME Zyx", kommuner=["0180", "0184"])
    actor = quick_user(world, Role.consultant, unit_id=unit)
    principal = Principal(actor.user_id, "k@example.se", Role.consultant, unit_id=unit)
    employer = world.employer(name="Lager och Städ AB")
    slots = [world.slot(employer, title=f"Lagerjobb {i}", capacity=20,
                        occupation_code=("4322", "9111", "5223")[i % 3],
                        start_date=date(2025, 1, 1)) for i in range(6)]
    person = world.participant(unit, **{k: v for k, v in DISTINCT.items()
                                        if k != "kommunkod"}, kommunkod="0180")
    others = [world.participant(unit, display_name=f"Vanlig Person {i}",
                                profile_text="Har jobbat i butik och på lager.",
                                skills=["Bergtruck"]) for i in range(12)]
    hw = HistoryWorld(unit, principal, person, others, slots)

    def act(fn):
        with unit_of_work(world.factory) as session:
            return fn(consultant_context(session, principal, world.settings))

    def placement(pid: int, slot: int, *actions: Action, note: str | None = None,
                  reason: str | None = None) -> int:
        pl = act(lambda c: placements.propose(c, pid, slot, note).row.id)
        for a in actions:
            why = reason if a in (Action.decline, Action.abort) else None
            act(lambda c, a=a, why=why: placements.transition(c, pl, a, reason=why))
        return pl

    done = (Action.accept, Action.start, Action.complete)
    hw.placements["completed"] = placement(person, slots[0], *done, note=NOTE)
    act(lambda c: placements.set_outcome(c, hw.placements["completed"], PlacementOutcome.work))
    hw.placements["aborted"] = placement(person, slots[1], Action.accept, Action.start,
                                         Action.abort, reason="hälsa")
    hw.placements["declined"] = placement(person, slots[2], Action.decline, reason=DECLINE)
    for s in (slots[3], slots[4]):
        act(lambda c, s=s: feedback.reject_slot(c, person, s, FEEDBACK))
    for i, pid in enumerate(others):
        placement(pid, slots[i % 6], *done)
        placement(pid, slots[(i + 1) % 6], Action.accept, Action.start, Action.abort,
                  reason="matchade inte")
    act(lambda c: participants.get(c, person))  # a read, audited
    return hw


def _strings_and_numbers(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings_and_numbers(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings_and_numbers(v)
    elif isinstance(value, str) and value[:1] in "[{":
        try:
            yield from _strings_and_numbers(json.loads(value))
        except ValueError:
            yield value
    else:
        yield value


def scan_database(engine: Engine, needles: list[str], exact: list[Any] = EXACT
                  ) -> list[tuple[str, str, Any]]:
    """(table, column, value) of every value in every table that contains one of `needles`
    (case-insensitive) or equals one of `exact`. The tables come from the database itself
    (reflection), so a table the code does not know is scanned too."""
    meta = MetaData()
    meta.reflect(bind=engine)
    low = [n.casefold() for n in needles]
    found = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for col, value in row.items():
                    for v in _strings_and_numbers(value):
                        inside = isinstance(v, str) and any(n in v.casefold() for n in low)
                        equal = isinstance(v, (str, float)) and any(
                            type(v) is type(e) and v == e for e in exact)
                        if inside or equal:
                            found.append((table.name, col, v))
    return found


def scan_files(root: Path, needles: list[str]) -> list[tuple[str, str]]:
    """(file, needle) for each needle found in any file under `root`; joblib artifacts are
    loaded and pickled again uncompressed so that their strings can be seen."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        blobs = [path.read_bytes()]
        if path.suffix == ".joblib":
            blobs.append(pickle.dumps(joblib.load(path), protocol=4))
        text = b"\n".join(blobs).decode("utf-8", errors="replace").casefold()
        found += [(str(path), n) for n in needles if n.casefold() in text]
    return found


def participant_data(**kw: Any) -> ParticipantData:
    return ParticipantData(**{"display_name": "X", "kommunkod": "0180", "swedish_level": "D",
                              **kw})
