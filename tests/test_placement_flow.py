"""The placement status machine through the API: every action from every status, for every
side, against a hand-written table; what a step does to the participant, the slot's places and
the event log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from matchning.domain.vocab import Role
from tests.factories import Actor, World

API = "/api/v1"

# Expected HTTP status of POST /placements/{id}/{action} by the consultant of the participant's
# unit and by a user of the employer that owns the slot. Written by hand from the rules, not
# derived from TRANSITIONS, so a change to the machine shows up here.
LEGALITY_TABLE = """
status     action    consultant  employer
proposed   accept    200         200
proposed   decline   200         200
proposed   withdraw  200         403
proposed   start     409         409
proposed   complete  409         409
proposed   abort     409         409
accepted   accept    409         409
accepted   decline   409         409
accepted   withdraw  200         403
accepted   start     200         200
accepted   complete  409         409
accepted   abort     409         409
declined   accept    409         409
declined   decline   409         409
declined   withdraw  409         403
declined   start     409         409
declined   complete  409         409
declined   abort     409         409
withdrawn  accept    409         409
withdrawn  decline   409         409
withdrawn  withdraw  409         403
withdrawn  start     409         409
withdrawn  complete  409         409
withdrawn  abort     409         409
started    accept    409         409
started    decline   409         409
started    withdraw  409         403
started    start     409         409
started    complete  200         200
started    abort     200         200
completed  accept    409         409
completed  decline   409         409
completed  withdraw  409         403
completed  start     409         409
completed  complete  409         409
completed  abort     409         409
aborted    accept    409         409
aborted    decline   409         409
aborted    withdraw  409         403
aborted    start     409         409
aborted    complete  409         409
aborted    abort     409         409
"""


def _parse(table: str) -> dict[tuple[str, str, str], int]:
    lines = [line.split() for line in table.strip().splitlines()]
    sides = lines[0][2:]
    return {(status, action, side): int(code)
            for status, action, *codes in lines[1:] for side, code in zip(sides, codes,
                                                                           strict=True)}


LEGALITY = _parse(LEGALITY_TABLE)
STATUSES = ("proposed", "accepted", "declined", "withdrawn", "started", "completed", "aborted")
ACTIONS = ("accept", "decline", "withdraw", "start", "complete", "abort")

# (from, action) → (to, participant status after, places the placement holds after)
EFFECTS = {
    ("proposed", "accept"): ("accepted", "väntande", 1),
    ("proposed", "decline"): ("declined", "väntande", 0),
    ("proposed", "withdraw"): ("withdrawn", "väntande", 0),
    ("accepted", "start"): ("started", "i praktik", 1),
    ("accepted", "withdraw"): ("withdrawn", "väntande", 0),
    ("started", "complete"): ("completed", "väntande", 0),
    ("started", "abort"): ("aborted", "väntande", 0),
}

# How the consultant brings a fresh placement into each status.
PATH = {
    "proposed": (), "accepted": ("accept",), "declined": ("decline",),
    "withdrawn": ("withdraw",), "started": ("accept", "start"),
    "completed": ("accept", "start", "complete"), "aborted": ("accept", "start", "abort"),
}
REASONS = {"decline": "Ingen handledare ledig i höst", "abort": "fick arbete"}


def test_table_is_complete_and_matches_effects() -> None:
    assert set(LEGALITY) == {(s, a, side) for s in STATUSES for a in ACTIONS
                             for side in ("consultant", "employer")}
    legal = {(s, a) for (s, a, side), code in LEGALITY.items() if code == 200}
    assert legal == set(EFFECTS)


@dataclass
class Scene:
    client: TestClient
    world: World
    unit: int
    employer: int
    consultant: Actor
    employer_user: Actor
    other_consultant: Actor
    other_employer_user: Actor

    def slot(self, **kw: Any) -> int:
        return self.world.slot(self.employer, **kw)

    def participant(self) -> int:
        return self.world.participant(self.unit)

    def propose(self, participant_id: int, slot_id: int, actor: Actor | None = None):
        return self.client.post(f"{API}/placements",
                                json={"participant_id": participant_id, "slot_id": slot_id},
                                headers=(actor or self.consultant).headers)

    def act(self, placement_id: int, action: str, actor: Actor | None = None,
            reason: str | None = None):
        body = {"reason": reason if reason is not None else REASONS.get(action)}
        return self.client.post(f"{API}/placements/{placement_id}/{action}",
                                json=body if body["reason"] is not None else None,
                                headers=(actor or self.consultant).headers)

    def placement_in(self, status: str, slot_id: int | None = None) -> int:
        slot_id = slot_id or self.slot()
        r = self.propose(self.participant(), slot_id)
        assert r.status_code == 201, r.text
        pl = r.json()["id"]
        for action in PATH[status]:
            r = self.act(pl, action)
            assert r.status_code == 200, r.text
        assert r.json()["status"] == status
        return pl

    def get(self, path: str) -> dict[str, Any]:
        r = self.client.get(f"{API}{path}", headers=self.consultant.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def state(self, placement_id: int) -> dict[str, Any]:
        """Everything a step may change: the placement, its events, the participant's status
        and the slot's remaining places."""
        pl = self.get(f"/placements/{placement_id}")
        return {"placement": pl,
                "events": self.get(f"/placements/{placement_id}/events"),
                "participant": self.get(f"/participants/{pl['participant_id']}")["status"],
                "remaining": self.get(f"/slots/{pl['slot_id']}")["remaining_places"]}


@pytest.fixture
def scene(client: TestClient, world: World) -> Scene:
    unit, other_unit = world.unit(), world.unit()
    employer, other_employer = world.employer(), world.employer()
    # No password: argon2 hashing is slow and the API is reached with tokens.
    return Scene(
        client, world, unit, employer,
        consultant=world.user(Role.consultant, unit_id=unit, password=None),
        employer_user=world.user(Role.employer, employer_id=employer, password=None),
        other_consultant=world.user(Role.consultant, unit_id=other_unit, password=None),
        other_employer_user=world.user(Role.employer, employer_id=other_employer,
                                       password=None),
    )


def _assert_error(r, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    if code is not None:
        assert err["code"] == code
    assert err["message"].strip()
    return err


@pytest.mark.parametrize(("status", "action"), [(s, a) for s in STATUSES for a in ACTIONS])
def test_every_action_from_every_status(scene: Scene, status: str, action: str) -> None:
    for side, actor in (("consultant", scene.consultant), ("employer", scene.employer_user)):
        pl = scene.placement_in(status)
        before = scene.state(pl)
        # Outsiders never learn that the placement exists, whatever its status; what they
        # tried changed nothing (checked below: state unchanged, or exactly one new event).
        for outsider in (scene.other_consultant, scene.other_employer_user):
            _assert_error(scene.act(pl, action, outsider), 404, "not_found")

        expected = LEGALITY[(status, action, side)]
        r = scene.act(pl, action, actor)
        if expected != 200:
            err = _assert_error(r, expected,
                                "illegal_transition" if expected == 409 else "forbidden")
            if expected == 409:
                assert err["message"].startswith("Det går inte att"), err
            else:
                assert err["message"] == "Du får inte återta en placering."
            assert scene.state(pl) == before
            continue

        assert r.status_code == 200, r.text
        target, person_status, held = EFFECTS[(status, action)]
        after = scene.state(pl)
        assert r.json()["status"] == after["placement"]["status"] == target
        assert after["participant"] == person_status
        assert after["remaining"] == 1 - held  # the slot has one place
        last = after["events"][-1]
        assert (last["action"], last["from_status"], last["to_status"]) == (action, status,
                                                                             target)
        assert last["by_user_id"] == actor.user_id
        assert last["reason"] == REASONS.get(action)
        assert len(after["events"]) == len(before["events"]) + 1


def test_decline_needs_a_reason(scene: Scene) -> None:
    pl = scene.placement_in("proposed")
    before = scene.state(pl)
    for body in (None, {}, {"reason": "   "}):
        r = scene.client.post(f"{API}/placements/{pl}/decline", json=body,
                              headers=scene.employer_user.headers)
        err = _assert_error(r, 422, "invalid_input")
        assert err["details"][0]["field"] == "reason"
    assert scene.state(pl) == before
    r = scene.act(pl, "decline", scene.employer_user, reason="Vi har ingen handledare")
    assert r.status_code == 200, r.text
    assert r.json()["decline_reason"] == "Vi har ingen handledare"


@pytest.mark.parametrize("reason", [None, "", "tröttnade", "Fick arbete"])
def test_abort_reason_must_be_a_known_one(scene: Scene, reason: str | None) -> None:
    pl = scene.placement_in("started")
    before = scene.state(pl)
    r = scene.client.post(f"{API}/placements/{pl}/abort",
                          json=None if reason is None else {"reason": reason},
                          headers=scene.consultant.headers)
    err = _assert_error(r, 422, "invalid_input")
    assert err["details"][0]["field"] == "reason"
    assert scene.state(pl) == before


def test_abort_with_each_known_reason(scene: Scene) -> None:
    from matchning.domain.vocab import AbortReason

    for reason in AbortReason:
        pl = scene.placement_in("started")
        r = scene.act(pl, "abort", scene.employer_user, reason=reason.value)
        assert r.status_code == 200, r.text
        assert r.json()["abort_reason"] == reason.value


def test_whole_life_records_every_step(scene: Scene) -> None:
    slot = scene.slot(capacity=1)
    pid = scene.participant()
    r = scene.propose(pid, slot)
    assert r.status_code == 201, r.text
    pl = r.json()["id"]
    assert scene.state(pl)["remaining"] == 1
    steps = [("accept", scene.employer_user, 0, "väntande"),
             ("start", scene.employer_user, 0, "i praktik"),
             ("complete", scene.consultant, 1, "väntande")]
    for action, actor, remaining, person_status in steps:
        assert scene.act(pl, action, actor).status_code == 200
        state = scene.state(pl)
        assert (state["remaining"], state["participant"]) == (remaining, person_status)
    r = scene.client.put(f"{API}/placements/{pl}/outcome", json={"outcome": "arbete"},
                         headers=scene.consultant.headers)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "arbete"
    events = scene.get(f"/placements/{pl}/events")
    assert [(e["action"], e["from_status"], e["to_status"], e["by_user_id"]) for e in events] == [
        ("propose", None, "proposed", scene.consultant.user_id),
        ("accept", "proposed", "accepted", scene.employer_user.user_id),
        ("start", "accepted", "started", scene.employer_user.user_id),
        ("complete", "started", "completed", scene.consultant.user_id),
        ("outcome", "completed", "completed", scene.consultant.user_id),
    ]
    assert events[-1]["reason"] == "arbete"
    placement = scene.get(f"/placements/{pl}")
    assert placement["decided_on"] and placement["started_on"] and placement["ended_on"]


def test_outcome_only_after_the_end_and_only_by_the_unit(scene: Scene) -> None:
    for status in ("proposed", "accepted", "started", "declined", "withdrawn"):
        pl = scene.placement_in(status)
        before = scene.state(pl)
        r = scene.client.put(f"{API}/placements/{pl}/outcome", json={"outcome": "arbete"},
                             headers=scene.consultant.headers)
        _assert_error(r, 409, "conflict")
        assert scene.state(pl) == before
    for status in ("completed", "aborted"):
        pl = scene.placement_in(status)
        r = scene.client.put(f"{API}/placements/{pl}/outcome", json={"outcome": "studier"},
                             headers=scene.employer_user.headers)
        _assert_error(r, 403, "forbidden")
        r = scene.client.put(f"{API}/placements/{pl}/outcome", json={"outcome": "studier"},
                             headers=scene.other_consultant.headers)
        _assert_error(r, 404, "not_found")
        r = scene.client.put(f"{API}/placements/{pl}/outcome", json={"outcome": "studier"},
                             headers=scene.consultant.headers)
        assert r.status_code == 200, r.text
        assert scene.get(f"/placements/{pl}")["outcome"] == "studier"


def test_accepting_the_last_place_twice_is_no_capacity(scene: Scene) -> None:
    slot = scene.slot(capacity=1)
    first = scene.placement_in("proposed", slot)
    second = scene.placement_in("proposed", slot)
    assert scene.act(first, "accept").status_code == 200
    before = scene.state(second)
    assert before["remaining"] == 0
    err = _assert_error(scene.act(second, "accept", scene.employer_user), 409, "no_capacity")
    assert "inga lediga platser" in err["message"]
    assert scene.state(second) == before
    # Starting the accepted one keeps its place; completing it frees the place.
    assert scene.act(first, "start").status_code == 200
    _assert_error(scene.act(second, "accept"), 409, "no_capacity")
    assert scene.act(first, "complete").status_code == 200
    assert scene.state(second)["remaining"] == 1
    assert scene.act(second, "accept").status_code == 200
    assert scene.state(second)["remaining"] == 0
    assert scene.act(second, "withdraw").status_code == 200
    assert scene.state(second)["remaining"] == 1


def test_capacity_counts_every_occupying_placement(scene: Scene) -> None:
    slot = scene.slot(capacity=2)
    a, b, c = (scene.placement_in("proposed", slot) for _ in range(3))
    assert scene.act(a, "accept").status_code == 200
    assert scene.act(b, "accept").status_code == 200
    assert scene.act(b, "start").status_code == 200
    _assert_error(scene.act(c, "accept"), 409, "no_capacity")
    assert scene.act(b, "abort").status_code == 200
    assert scene.act(c, "accept").status_code == 200
    assert scene.get(f"/slots/{slot}")["remaining_places"] == 0


def test_no_second_open_proposal_for_the_same_participant_and_slot(scene: Scene) -> None:
    slot, pid = scene.slot(capacity=3), scene.participant()
    r = scene.propose(pid, slot)
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    for status_path in ((), ("accept",), ("start",)):
        for action in status_path:
            assert scene.act(first, action).status_code == 200
        err = _assert_error(scene.propose(pid, slot), 409, "conflict")
        assert err["details"][0]["placement_id"] == first
    # Once the placement has ended, the participant may be proposed again.
    assert scene.act(first, "complete").status_code == 200
    r = scene.propose(pid, slot)
    assert r.status_code == 201, r.text
    placements = scene.get(f"/placements?participant_id={pid}")
    assert placements["total"] == 2


def test_closed_slot_gets_no_new_proposals(scene: Scene) -> None:
    slot = scene.slot(capacity=2)
    r = scene.client.patch(f"{API}/slots/{slot}", json={"status": "closed"},
                           headers=scene.consultant.headers)
    assert r.status_code == 200, r.text
    pid = scene.participant()
    _assert_error(scene.propose(pid, slot), 409, "conflict")
    assert scene.get(f"/placements?slot_id={slot}")["total"] == 0


def test_only_the_unit_proposes(scene: Scene) -> None:
    slot, pid = scene.slot(), scene.participant()
    _assert_error(scene.propose(pid, slot, scene.employer_user), 403, "forbidden")
    _assert_error(scene.propose(pid, slot, scene.other_consultant), 404, "not_found")
    assert scene.get(f"/placements?slot_id={slot}")["total"] == 0


def test_employer_sees_no_note_or_snapshot(scene: Scene) -> None:
    slot, pid = scene.slot(), scene.participant()
    r = scene.client.post(f"{API}/placements",
                          json={"participant_id": pid, "slot_id": slot, "note": "Intern notering"},
                          headers=scene.consultant.headers)
    assert r.status_code == 201, r.text
    pl = r.json()["id"]
    r = scene.client.get(f"{API}/placements/{pl}", headers=scene.employer_user.headers)
    assert r.status_code == 200, r.text
    assert r.json()["note"] is None and r.json()["snapshot"] is None
    _assert_error(scene.client.get(f"{API}/placements/{pl}",
                                   headers=scene.other_employer_user.headers), 404, "not_found")


def test_a_participant_is_in_one_practice_at_a_time(scene: Scene) -> None:
    pid = scene.participant()
    first, second = (scene.propose(pid, scene.slot()).json()["id"] for _ in range(2))
    for action in ("accept", "start"):
        assert scene.act(first, action).status_code == 200
    assert scene.act(second, "accept").status_code == 200
    before = scene.state(second)
    _assert_error(scene.act(second, "start", scene.employer_user), 409, "conflict")
    assert scene.state(second) == before
    assert scene.act(first, "complete").status_code == 200
    assert scene.get(f"/participants/{pid}")["status"] == "väntande"
    assert scene.act(second, "start").status_code == 200
    assert scene.get(f"/participants/{pid}")["status"] == "i praktik"
