"""Who may do what, as a hand-written table: (method, route, subject) x role -> status.

The table is data written from DESIGN.md's security model, not derived from the policy code.
One world is built per backend; each case runs in a transaction that is rolled back, so a write
that succeeds for one role does not change what the next role meets.

Roles (columns of the table, in this order):
  anon       no token
  cons_a     consultant of unit A (the participant's unit)
  cons_b     consultant of unit B
  emp_own    user of employer E1, which owns the slot / the employer involved
  emp_other  user of employer E2
  admin_a    unit admin of unit A
  admin_b    unit admin of unit B
  sysadmin   system admin
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.vocab import Role
from matchning.ml import registry
from matchning.storage.db import make_session_factory, unit_of_work
from matchning.storage.repositories import models
from tests.conftest import backend_engine
from tests.factories import Actor, World
from tests.helpers_api import (
    API,
    assert_error,
    employer_body,
    keys_deep,
    participant_body,
    quick_user,
    slot_body,
)

ROLES = ("anon", "cons_a", "cons_b", "emp_own", "emp_other", "admin_a", "admin_b", "sysadmin")
LOGIN_EMAIL = "karin.akesson@ame-a.example.se"
LOGIN_PASSWORD = "höst-löv-på-marken-7"


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # the app's path template below /api/v1
    expect: tuple[int, ...]  # one status per role, in ROLES order
    bind: tuple[tuple[str, str], ...] = ()  # path parameter -> world key (or a literal)
    body: str | None = None  # key of BODIES
    query: str = ""
    # Run on committed data, not in the rolled-back transaction: the route starts work that
    # uses connections of its own (a background retrain).
    committed: bool = False

    @property
    def label(self) -> str:
        subject = ",".join(v for _, v in self.bind)
        return f"{self.method} {self.route}{'?' + self.query if self.query else ''}" \
               f"{' ' + subject if subject else ''}{' ' + self.body if self.body else ''}"


def row(method: str, route: str, expect: str, body: str | None = None, query: str = "",
        committed: bool = False, **bind: str) -> Row:
    codes = tuple(int(c) for c in expect.split())
    assert len(codes) == len(ROLES), f"{method} {route}: {len(codes)} statuses"
    return Row(method, route, codes, tuple(bind.items()), body, query, committed)


# --- the table -------------------------------------------------------------------------------
#                                                   anon cA  cB  eOwn eOth aA  aB  sys
TABLE: list[Row] = [
    # Log in needs no token; it is the one route open to anonymous callers.
    row("POST", "/auth/token", "201 201 201 201 201 201 201 201", body="login"),
    row("GET", "/auth/me", "401 200 200 200 200 200 200 200"),

    # Units: system admin creates and renames; unit admin edits its own unit's settings.
    row("POST", "/units", "401 403 403 403 403 403 403 201", body="unit"),
    row("GET", "/units", "401 200 200 403 403 200 200 200"),
    row("GET", "/units/{unit_id}", "401 200 404 403 403 200 404 200", unit_id="unit_a"),
    row("PATCH", "/units/{unit_id}", "401 403 404 403 403 200 404 200", body="unit_settings",
        unit_id="unit_a"),
    row("PATCH", "/units/{unit_id}", "401 403 404 403 403 403 404 200", body="unit_rename",
        unit_id="unit_a"),
    # A unit's results report and slot gaps: its consultants and admins, and system admins.
    row("GET", "/units/{unit_id}/report", "401 200 404 403 403 200 404 200", unit_id="unit_a"),
    row("GET", "/units/{unit_id}/report", "401 200 404 403 403 200 404 200", unit_id="unit_a",
        query="from=2026-01-01&to=2026-06-30&format=csv"),
    row("GET", "/units/{unit_id}/gaps", "401 200 404 403 403 200 404 200", unit_id="unit_a"),

    # Users: system admin manages all; unit admin its own unit's staff; everyone themselves.
    row("POST", "/users", "401 403 403 403 403 201 403 201", body="user_consultant_a"),
    row("POST", "/users", "401 403 403 403 403 403 403 201", body="user_employer_e1"),
    row("POST", "/users", "401 403 403 403 403 403 403 201", body="user_sysadmin"),
    row("GET", "/users", "401 403 403 403 403 200 200 200"),
    row("GET", "/users/{user_id}", "401 403 403 403 403 200 404 200", user_id="cons_a2"),
    row("GET", "/users/{user_id}", "401 403 403 200 403 404 404 200", user_id="emp_own"),
    row("GET", "/users/{user_id}", "401 200 200 200 200 200 200 200", user_id="@self"),
    row("PATCH", "/users/{user_id}", "401 403 403 403 403 200 404 200", body="rename_user",
        user_id="cons_a2"),
    row("PATCH", "/users/{user_id}", "401 403 403 403 403 200 404 200", body="deactivate",
        user_id="cons_a2"),
    row("PATCH", "/users/{user_id}", "401 403 403 403 403 404 404 200", body="deactivate",
        user_id="emp_own"),
    row("PATCH", "/users/{user_id}", "401 403 403 200 403 404 404 200", body="new_password",
        user_id="emp_own"),
    row("PATCH", "/users/{user_id}", "401 200 200 200 200 200 200 200", body="rename_user",
        user_id="@self"),
    row("GET", "/users/{user_id}/tokens", "401 403 403 403 403 200 404 200", user_id="cons_a2"),
    row("GET", "/users/{user_id}/tokens", "401 200 200 200 200 200 200 200", user_id="@self"),
    row("POST", "/users/{user_id}/tokens", "401 403 403 403 403 201 404 201", body="token",
        user_id="cons_a2"),
    row("POST", "/users/{user_id}/tokens", "401 403 403 201 403 404 404 201", body="token",
        user_id="emp_own"),
    row("POST", "/users/{user_id}/tokens", "401 201 201 201 201 201 201 201", body="token",
        user_id="@self"),
    row("DELETE", "/users/{user_id}/tokens/{token_id}", "401 403 403 403 403 200 404 200",
        user_id="cons_a2", token_id="token_cons_a2"),
    row("DELETE", "/users/{user_id}/tokens/{token_id}", "401 200 200 200 200 200 200 200",
        user_id="@self", token_id="@self_token"),

    # Employers are shared by all units; an employer user reaches only its own.
    row("POST", "/employers", "401 201 201 403 403 201 201 201", body="employer"),
    row("GET", "/employers", "401 200 200 200 200 200 200 200"),
    row("GET", "/employers/{employer_id}", "401 200 200 200 403 200 200 200",
        employer_id="employer_e1"),
    row("PATCH", "/employers/{employer_id}", "401 200 200 200 403 200 200 200",
        body="employer_contact", employer_id="employer_e1"),

    # Slots: consultants register and edit them on an employer's behalf; employers their own.
    row("POST", "/slots", "401 201 201 201 403 201 201 201", body="slot_e1"),
    row("POST", "/slots", "401 201 201 403 201 201 201 201", body="slot_e2"),
    row("GET", "/slots", "401 200 200 200 200 200 200 200"),
    row("GET", "/slots", "401 200 200 403 200 200 200 200", query="employer_id={employer_e2}"),
    row("GET", "/slots/{slot_id}", "401 200 200 200 403 200 200 200", slot_id="slot_e1"),
    row("PATCH", "/slots/{slot_id}", "401 200 200 200 403 200 200 200", body="slot_capacity",
        slot_id="slot_e1"),
    row("PATCH", "/slots/{slot_id}", "401 200 200 403 403 200 200 200", body="slot_to_e2",
        slot_id="slot_e1"),

    # Participants: own unit only (another unit's is 404); employers never see a profile.
    row("POST", "/participants", "401 201 403 403 403 201 403 201", body="participant_a"),
    row("GET", "/participants", "401 200 200 403 403 200 200 200"),
    row("GET", "/participants", "401 200 403 403 403 200 403 200",
        query="unit_id={unit_a}"),
    row("GET", "/participants/{participant_id}", "401 200 404 403 403 200 404 200",
        participant_id="participant_a"),
    row("PATCH", "/participants/{participant_id}", "401 200 404 403 403 200 404 200",
        body="participant_text", participant_id="participant_a"),
    row("PATCH", "/participants/{participant_id}", "401 200 404 403 403 200 404 200",
        body="handover_a2", participant_id="participant_a"),
    row("POST", "/participants/{participant_id}/feedback", "401 201 404 403 403 201 404 403",
        body="feedback", participant_id="participant_a"),
    row("GET", "/participants/{participant_id}/feedback", "401 200 404 403 403 200 404 200",
        participant_id="participant_a"),

    # Erasure: the participant's own unit staff only, and only without open placements
    # (p_done's one placement is completed; participant_a's is still proposed).
    row("DELETE", "/participants/{participant_id}", "401 204 404 403 403 204 404 403",
        participant_id="p_done"),
    row("DELETE", "/participants/{participant_id}", "401 409 404 403 403 409 404 403",
        participant_id="participant_a"),

    # Audit log: unit admins (their unit's rows) and system admins (all).
    row("GET", "/audit", "401 403 403 403 403 200 200 200"),
    row("GET", "/audit", "401 403 403 403 403 200 200 200",
        query="participant_id={participant_a}&from=2026-01-01&to=2030-12-31"),

    # Fairness report: unit admins their own unit (another unit is 404), system admins any
    # unit or all. No model in this world: the realised rates alone, still 200.
    row("GET", "/fairness", "401 403 403 403 403 200 200 200"),
    row("GET", "/fairness", "401 403 403 403 403 200 404 200", query="unit_id={unit_a}&k=2"),

    # Placements: the unit proposes and follows up; the employer sees those proposed to it
    # (others: 404) and may accept, decline, start, complete and abort, but not withdraw.
    row("POST", "/placements", "401 201 404 403 403 201 404 403", body="propose_a_e2"),
    row("GET", "/placements", "401 200 200 200 200 200 200 200"),
    row("GET", "/placements/{placement_id}", "401 200 404 200 404 200 404 200",
        placement_id="pl_proposed"),
    row("GET", "/placements/{placement_id}/events", "401 200 404 200 404 200 404 200",
        placement_id="pl_proposed"),
    row("POST", "/placements/{placement_id}/{action}", "401 200 404 200 404 200 404 403",
        placement_id="pl_proposed", action="accept"),
    row("POST", "/placements/{placement_id}/{action}", "401 200 404 200 404 200 404 403",
        body="decline_reason", placement_id="pl_proposed", action="decline"),
    row("POST", "/placements/{placement_id}/{action}", "401 200 404 403 404 200 404 403",
        placement_id="pl_proposed", action="withdraw"),
    row("POST", "/placements/{placement_id}/{action}", "401 200 404 403 404 200 404 403",
        placement_id="pl_accepted", action="withdraw"),
    row("POST", "/placements/{placement_id}/{action}", "401 200 404 200 404 200 404 403",
        placement_id="pl_accepted", action="start"),
    row("POST", "/placements/{placement_id}/{action}", "401 200 404 200 404 200 404 403",
        placement_id="pl_started", action="complete"),
    row("POST", "/placements/{placement_id}/{action}", "401 200 404 200 404 200 404 403",
        body="abort_reason", placement_id="pl_started", action="abort"),
    row("PUT", "/placements/{placement_id}/outcome", "401 200 404 403 404 200 404 403",
        body="outcome", placement_id="pl_completed"),

    # Suggestions: unit staff only (a system admin user too is refused; the CLI acts as the
    # system). No model is trained in this world, so a request that passes the access checks
    # answers 503 (model_unavailable): the checks run before the model is needed.
    row("GET", "/participants/{participant_id}/recommendations",
        "401 503 404 403 403 503 404 403", participant_id="participant_a"),
    row("GET", "/participants/{participant_id}/recommendations/excluded",
        "401 503 404 403 403 503 404 403", participant_id="participant_a"),
    # Slots are shared, so any unit's staff may ask (each meets its own unit's participants).
    row("GET", "/slots/{slot_id}/candidates", "401 503 503 403 403 503 503 403",
        slot_id="slot_e1"),

    # Allocation plans: the unit's staff (another unit's: 404); no model here, so making a plan
    # answers 503 after the access checks. The world holds one stored plan of unit A.
    row("POST", "/allocations", "401 503 404 403 403 503 404 403", body="allocation_a"),
    row("GET", "/allocations/{plan_id}", "401 200 404 403 403 200 404 403", plan_id="plan_a"),
    row("POST", "/allocations/{plan_id}/pairs/{participant_id}/accept",
        "401 200 404 403 403 200 404 403", plan_id="plan_a", participant_id="participant_a"),
    row("POST", "/allocations/{plan_id}/pairs/{participant_id}/override",
        "401 200 404 403 403 200 404 403", body="override_reason", plan_id="plan_a",
        participant_id="participant_a"),

    # Reference data: any signed-in user.
    row("GET", "/reference/occupations", "401 200 200 200 200 200 200 200", query="q=lager"),
    row("GET", "/reference/occupations/{code}", "401 200 200 200 200 200 200 200",
        code="4322"),
    row("GET", "/reference/municipalities", "401 200 200 200 200 200 200 200", query="q=Upp"),
    row("GET", "/reference/postcodes/{postcode}", "401 200 200 200 200 200 200 200",
        postcode="16970"),
    row("GET", "/reference/skills", "401 200 200 200 200 200 200 200", query="q=truck"),

    # Model lifecycle: system admins only; everyone else is refused before anything is looked
    # up (403, never 404). The world has one saved version (a stand-in object: the registry
    # does not look inside), no active model and one failed retrain run.
    row("GET", "/admin/models", "401 403 403 403 403 403 403 200"),
    row("GET", "/admin/models/{version}", "401 403 403 403 403 403 403 200",
        version="saved_version"),
    row("GET", "/admin/models/{version}", "401 403 403 403 403 403 403 404",
        version="20200101T000000Z-000000"),
    row("POST", "/admin/models/{version}/promote", "401 403 403 403 403 403 403 200",
        version="saved_version"),
    row("POST", "/admin/models/{version}/promote", "401 403 403 403 403 403 403 404",
        version="20200101T000000Z-000000"),
    # No model is active, so there is nothing to go back from.
    row("POST", "/admin/models/rollback", "401 403 403 403 403 403 403 409"),
    row("GET", "/admin/jobs", "401 403 403 403 403 403 403 200"),
    row("GET", "/admin/jobs/{job_id}", "401 403 403 403 403 403 403 200", job_id="job_failed"),
    row("GET", "/admin/jobs/{job_id}", "401 403 403 403 403 403 403 404", job_id="987654"),
    # A real run: accepted (202) and carried out in the background, where it fails fast on
    # this world's five placements; the test waits for it (see test_scoping).
    row("POST", "/admin/retrain", "401 403 403 403 403 403 403 202", committed=True),
]

# Request bodies, from the world's ids.
BODIES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "login": lambda w: {"email": LOGIN_EMAIL, "password": LOGIN_PASSWORD},
    "unit": lambda w: {"name": "Arbetsmarknadsenheten Solna", "kommuner": ["0184"]},
    "unit_settings": lambda w: {"settings": {"rejection_days": 60}},
    "unit_rename": lambda w: {"name": "AME Norrort"},
    "user_consultant_a": lambda w: {"email": "ny.konsulent@ame-a.example.se", "role":
                                    "consultant", "unit_id": w["unit_a"],
                                    "display_name": "Åsa Ny"},
    "user_employer_e1": lambda w: {"email": "handledare@coop.example.se", "role": "employer",
                                   "employer_id": w["employer_e1"],
                                   "display_name": "Göran Handledare"},
    "user_sysadmin": lambda w: {"email": "drift@kommun.example.se", "role": "system_admin"},
    "rename_user": lambda w: {"display_name": "Örjan Ändrad"},
    "deactivate": lambda w: {"active": False},
    "new_password": lambda w: {"password": "ett-nytt-lösenord-1"},
    "token": lambda w: {"name": "skript"},
    "employer": lambda w: employer_body(name="Städbolaget Ren & Fin AB"),
    "employer_contact": lambda w: {"contact_name": "Örjan Ek"},
    "slot_e1": lambda w: slot_body(w["employer_e1"]),
    "slot_e2": lambda w: slot_body(w["employer_e2"], title="Städare", occupation_code="9111"),
    "slot_capacity": lambda w: {"capacity": 4},
    "slot_to_e2": lambda w: {"employer_id": w["employer_e2"]},
    "participant_a": lambda w: participant_body(unit_id=w["unit_a"]),
    "participant_text": lambda w: {"profile_text": "Vill arbeta med kunder."},
    "handover_a2": lambda w: {"consultant_id": w["cons_a2"]},
    "feedback": lambda w: {"slot_id": w["slot_e2"], "reason": "För lång pendling."},
    "propose_a_e2": lambda w: {"participant_id": w["participant_a"], "slot_id": w["slot_e2"]},
    "decline_reason": lambda w: {"reason": "Ingen handledare i juli."},
    "abort_reason": lambda w: {"reason": "fick arbete"},
    "outcome": lambda w: {"outcome": "arbete"},
    "allocation_a": lambda w: {"unit_id": w["unit_a"], "method": "exact"},
    "override_reason": lambda w: {"reason": "Deltagaren vill hellre arbeta i butik."},
}


# --- the world -------------------------------------------------------------------------------

@dataclass
class Scene:
    client: TestClient
    engine: Engine
    real_factory: sessionmaker
    actors: dict[str, Actor]
    ids: dict[str, Any] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Run the app on one connection whose outer transaction is rolled back afterwards."""
        app = self.client.app
        conn = self.engine.connect()
        outer = conn.begin()
        app.state.session_factory = sessionmaker(  # type: ignore[attr-defined]
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False,
            autoflush=True)
        try:
            yield
        finally:
            app.state.session_factory = self.real_factory  # type: ignore[attr-defined]
            outer.rollback()
            conn.close()

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anon" else self.actors[role].headers

    def finished_job(self, job_id: int, timeout: float = 60) -> dict[str, Any]:
        """The retrain run once it is no longer running."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.call("sysadmin", "GET", f"/admin/jobs/{job_id}").json()
            if job["status"] != "running" or time.monotonic() > deadline:
                return job
            time.sleep(0.1)

    def call(self, role: str, method: str, url: str, body: dict[str, Any] | None = None):
        return self.client.request(method, API + url, headers=self.headers(role), json=body)

    def resolve(self, role: str, value: str) -> str:
        if value == "@self":
            return str(self.actors.get(role, self.actors["cons_a"]).user_id)
        if value == "@self_token":
            return str(self.token_ids.get(role, self.token_ids["cons_a"]))
        return str(self.ids.get(value, value))


def _build(client: TestClient, world: World, engine: Engine) -> Scene:
    unit_a = world.unit(name="Arbetsmarknadsenheten Stockholm", kommuner=["0180", "0184"])
    unit_b = world.unit(name="Arbetsmarknadsenheten Göteborg", kommuner=["1480"])
    e1 = world.employer(name="Coop Logistik Solna AB", kommunkod="0184")
    e2 = world.employer(name="Städbolaget Väst AB", kommunkod="1480")
    actors = {
        "cons_a": world.user(Role.consultant, unit_id=unit_a, email=LOGIN_EMAIL,
                             password=LOGIN_PASSWORD),
        "cons_b": quick_user(world, Role.consultant, unit_id=unit_b),
        "emp_own": quick_user(world, Role.employer, employer_id=e1),
        "emp_other": quick_user(world, Role.employer, employer_id=e2),
        "admin_a": quick_user(world, Role.unit_admin, unit_id=unit_a),
        "admin_b": quick_user(world, Role.unit_admin, unit_id=unit_b),
        "sysadmin": quick_user(world, Role.system_admin),
    }
    cons_a2 = quick_user(world, Role.consultant, unit_id=unit_a)
    scene = Scene(client, engine, world.factory, actors)
    slot_e1 = world.slot(e1, title="Lagerarbetare", capacity=5, start_date=None)
    slot_e2 = world.slot(e2, title="Städare", occupation_code="9111", kommunkod="1480",
                         start_date=None)
    people = {name: world.participant(unit_a, display_name=display, consultant_id=actors[
        "cons_a"].user_id, profile_text="Lång erfarenhet av lager.", skills=["Truckvana"])
        for name, display in (("participant_a", "Åsa Öberg"), ("p_acc", "Ali Hassan"),
                              ("p_started", "Märta Lind"), ("p_done", "Bo Ek"))}
    participant_b = world.participant(unit_b, display_name="Lars Ström", kommunkod="1480")
    h_a, h_b = actors["cons_a"].headers, actors["cons_b"].headers

    def propose(person: int, slot: int, headers: dict[str, str], *actions: str) -> int:
        r = client.post(f"{API}/placements", json={"participant_id": person, "slot_id": slot,
                                                   "note": "Intern anteckning."},
                        headers=headers)
        assert r.status_code == 201, r.text
        for action in actions:
            rr = client.post(f"{API}/placements/{r.json()['id']}/{action}", headers=headers)
            assert rr.status_code == 200, rr.text
        return r.json()["id"]

    scene.ids.update(
        unit_a=unit_a, unit_b=unit_b, employer_e1=e1, employer_e2=e2, slot_e1=slot_e1,
        slot_e2=slot_e2, cons_a2=cons_a2.user_id, participant_b=participant_b, **people,
        emp_own=actors["emp_own"].user_id,
        pl_proposed=propose(people["participant_a"], slot_e1, h_a),
        pl_accepted=propose(people["p_acc"], slot_e1, h_a, "accept"),
        pl_started=propose(people["p_started"], slot_e1, h_a, "accept", "start"),
        pl_completed=propose(people["p_done"], slot_e1, h_a, "accept", "start", "complete"),
        pl_b=propose(participant_b, slot_e2, h_b),
    )
    scene.ids["plan_a"] = _stored_plan(world, unit_a, people["participant_a"], slot_e2)
    scene.ids["saved_version"] = registry.save({"stand-in": True}, world.settings.models_dir,
                                               {"estimator": "stand-in"})
    with unit_of_work(world.factory) as session:
        job = models.start_run(session, trigger="cli", by=None, host="test", pid=1,
                               at=datetime.now(UTC), active_version=None)
        models.finish_run(session, job.id, status="failed", at=datetime.now(UTC),
                          reason="InsufficientData: för lite historik")
        scene.ids["job_failed"] = job.id
    r = client.post(f"{API}/participants/{people['participant_a']}/feedback",
                    json={"slot_id": slot_e2, "reason": "För långt till Göteborg."},
                    headers=h_a)
    assert r.status_code == 201, r.text
    scene.ids["token_cons_a2"] = client.get(
        f"{API}/users/{cons_a2.user_id}/tokens", headers=cons_a2.headers).json()[0]["id"]
    for role, actor in actors.items():
        scene.token_ids[role] = client.get(f"{API}/users/{actor.user_id}/tokens",
                                           headers=actor.headers).json()[0]["id"]
    return scene


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def scene(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          own_retrain_lock_key: None) -> Iterator[Scene]:
    tmp = tmp_path_factory.mktemp("scoping")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        world = World(make_session_factory(engine), settings)
        with TestClient(create_app(settings=settings, engine=engine)) as client:
            yield _build(client, world, engine)


def _stored_plan(world: World, unit_id: int, participant_id: int, slot_id: int) -> int:
    """A stored allocation plan of one pair (a plan needs a model to be made; stored, it
    does not)."""
    from matchning.storage.repositories import allocations

    with unit_of_work(world.factory) as session:
        plan = allocations.add_plan(session, unit_id=unit_id, created_at=datetime.now(UTC),
                                    created_by=None, model_version="stand-in", method="exact",
                                    options={}, inputs={"participants": 1})
        allocations.add_pairs(session, [{"plan_id": plan.id, "participant_id": participant_id,
                                         "slot_id": slot_id, "score": 0.5, "pinned": False,
                                         "status": "proposed"}])
        return plan.id


# --- the tests -------------------------------------------------------------------------------

CASES = [pytest.param(r, role, expected, id=f"{r.label}-{role}")
         for r in TABLE for role, expected in zip(ROLES, r.expect, strict=True)]


@pytest.mark.parametrize(("case", "role", "expected"), CASES)
def test_scoping(scene: Scene, case: Row, role: str, expected: int) -> None:
    params = {name: scene.resolve(role, value) for name, value in case.bind}
    url = case.route.format(**params)
    if case.query:
        url += "?" + case.query.format(**scene.ids)
    body = BODIES[case.body](scene.ids) if case.body else None
    if case.committed:
        r = scene.call(role, case.method, url, body)
    else:
        with scene.isolated():
            r = scene.call(role, case.method, url, body)
    assert r.status_code == expected, f"{role} {case.method} {url}: {r.status_code} {r.text}"
    if expected >= 400:
        assert_error(r, expected)
    if case.route == "/admin/retrain" and expected == 202:
        job = scene.finished_job(r.json()["job_id"])
        assert job["status"] == "failed" and "Historiken räcker inte" in job["reason"], job


def _api_routes() -> set[tuple[str, str]]:
    """(method, full path) of every route of the app under /api/v1."""
    app = create_app(settings=Settings(environment="test"))
    try:  # FastAPI >= 0.165 keeps included routers lazy; this walks them with full paths.
        from fastapi.routing import iter_route_contexts
        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # older FastAPI flattens included routes into app.routes
        routes = [r for r in app.routes if isinstance(r, APIRoute)]
    found = {(method, route.path) for route in routes
             if (route.path or "").startswith(API + "/")
             for method in (route.methods or set()) - {"HEAD", "OPTIONS"}}
    assert len(found) > 30, f"route discovery found too little: {found}"
    return found


def test_every_api_route_has_a_row() -> None:
    """A new route under /api/v1 fails here until its row is added to TABLE."""
    covered = {(r.method, API + r.route) for r in TABLE}
    missing = _api_routes() - covered
    assert not missing, f"routes without a row in the scoping table: {sorted(missing)}"


def test_every_row_names_a_real_route() -> None:
    stale = {(r.method, API + r.route) for r in TABLE} - _api_routes()
    assert not stale, f"rows for routes that do not exist: {sorted(stale)}"


# Nothing of the profile beyond the display name and what the placement needs.
EMPLOYER_MAY_SEE = {"id", "display_name", "needs_supervisor", "adaptations",
                    "max_hours_per_week", "earliest_start"}
PROFILE_KEYS = {"kommunkod", "postcode", "lat", "lon", "skills", "profile_text",
                "wished_occupations", "past_work", "swedish_level", "other_languages",
                "education_level", "driving_licences", "target_groups", "monitoring",
                "gender", "birth_year", "born_abroad", "max_commute_km", "consultant_id"}


def _assert_employer_view(placement: dict[str, Any]) -> None:
    assert placement.get("snapshot") is None, placement
    assert placement.get("note") is None, placement
    assert set(placement["participant"]) <= EMPLOYER_MAY_SEE, placement["participant"]
    assert not keys_deep(placement) & PROFILE_KEYS, placement
    assert "Lång erfarenhet" not in str(placement) and "Truckvana" not in str(placement)


def test_employer_sees_only_the_name_and_what_the_placement_needs(scene: Scene) -> None:
    pl = scene.ids["pl_proposed"]
    with scene.isolated():
        consultant = scene.call("cons_a", "GET", f"/placements/{pl}").json()
        assert consultant["snapshot"]["profile_text"] == "Lång erfarenhet av lager."
        assert consultant["note"] == "Intern anteckning."
        got = scene.call("emp_own", "GET", f"/placements/{pl}")
        assert got.status_code == 200
        _assert_employer_view(got.json())
        assert got.json()["participant"]["display_name"] == "Åsa Öberg"
        listed = scene.call("emp_own", "GET", "/placements").json()["items"]
        assert listed
        for item in listed:
            _assert_employer_view(item)
        for action, placement in (("accept", pl), ("start", scene.ids["pl_accepted"]),
                                  ("abort", scene.ids["pl_started"])):
            r = scene.call("emp_own", "POST", f"/placements/{placement}/{action}",
                           {"reason": "fick arbete"} if action == "abort" else None)
            assert r.status_code == 200, r.text
            _assert_employer_view(r.json())
        events = scene.call("emp_own", "GET", f"/placements/{pl}/events").json()
        assert not keys_deep(events) & PROFILE_KEYS


def test_lists_show_only_what_the_role_may_see(scene: Scene) -> None:
    ids = scene.ids
    unit_a_people = {ids[k] for k in ("participant_a", "p_acc", "p_started", "p_done")}

    def items(role: str, url: str) -> list[dict[str, Any]]:
        r = scene.call(role, "GET", url)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def id_set(role: str, url: str, key: str = "id") -> set[int]:
        return {i[key] for i in items(role, url)}

    with scene.isolated():
        assert id_set("cons_a", "/participants") == unit_a_people
        assert id_set("cons_b", "/participants") == {ids["participant_b"]}
        assert id_set("admin_b", "/participants") == {ids["participant_b"]}
        assert id_set("sysadmin", "/participants") == unit_a_people | {ids["participant_b"]}
        assert id_set("cons_b", "/participants?q=Åsa") == set()
        assert ids["pl_b"] not in id_set("cons_a", "/placements")
        assert id_set("cons_b", "/placements") == {ids["pl_b"]}
        assert id_set("cons_b", f"/placements?participant_id={ids['participant_a']}") == set()
        assert id_set("emp_own", "/placements", "employer_id") == {ids["employer_e1"]}
        assert id_set("emp_other", "/placements") == {ids["pl_b"]}
        assert id_set("emp_other", f"/placements?slot_id={ids['slot_e1']}") == set()
        assert id_set("emp_own", "/slots", "employer_id") == {ids["employer_e1"]}
        assert id_set("emp_own", "/employers") == {ids["employer_e1"]}
        assert id_set("cons_b", "/slots", "employer_id") == {ids["employer_e1"],
                                                             ids["employer_e2"]}
        assert id_set("cons_b", "/units") == {ids["unit_b"]}
        assert id_set("admin_a", "/units") == {ids["unit_a"]}
        assert len(id_set("sysadmin", "/units")) == 2
        assert {u["unit_id"] for u in items("admin_b", "/users")} == {ids["unit_b"]}
        assert {u["unit_id"] for u in items("admin_a", "/users")} == {ids["unit_a"]}
        assert len(items("sysadmin", "/users")) == 8
        assert {u["role"] for u in items("admin_a", "/users?role=employer")} == set()


@pytest.mark.parametrize(("role", "url", "method"), [
    ("cons_b", "/participants/{participant_a}", "GET"),
    ("cons_b", "/participants/{participant_a}", "PATCH"),
    ("cons_b", "/participants/{participant_a}", "DELETE"),
    ("admin_b", "/participants/{participant_a}", "DELETE"),
    ("admin_b", "/participants/{participant_a}/feedback", "GET"),
    ("cons_b", "/placements/{pl_proposed}", "GET"),
    ("emp_other", "/placements/{pl_proposed}", "GET"),
    ("emp_other", "/placements/{pl_proposed}/events", "GET"),
    ("cons_b", "/units/{unit_a}", "GET"),
    ("cons_b", "/participants/{participant_a}/recommendations", "GET"),
    ("admin_b", "/participants/{participant_a}/recommendations/excluded", "GET"),
])
def test_hidden_rows_look_exactly_like_missing_ones(scene: Scene, role: str, url: str,
                                                   method: str) -> None:
    """Another unit's participant answers as if it did not exist: same status, same body."""
    real = url.format(**scene.ids)
    missing = url.format(**{k: 987654 for k in scene.ids})
    body = {"profile_text": "x"} if method == "PATCH" else None
    with scene.isolated():
        hidden = scene.call(role, method, real, body)
        absent = scene.call(role, method, missing, body)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json() == absent.json()


def test_refused_writes_change_nothing(scene: Scene) -> None:
    ids = scene.ids
    with scene.isolated():
        before = scene.call("cons_a", "GET", f"/participants/{ids['participant_a']}").json()
        slot_before = scene.call("cons_a", "GET", f"/slots/{ids['slot_e1']}").json()
        placement_before = scene.call("cons_a", "GET", f"/placements/{ids['pl_proposed']}")
        for role in ("cons_b", "admin_b", "emp_own", "emp_other", "anon"):
            r = scene.call(role, "PATCH", f"/participants/{ids['participant_a']}",
                           {"display_name": "Kapad"})
            assert r.status_code in (401, 403, 404)
        for role in ("emp_other", "anon"):
            r = scene.call(role, "PATCH", f"/slots/{ids['slot_e1']}", {"capacity": 1})
            assert r.status_code in (401, 403)
        for role in ("cons_b", "emp_other", "emp_own", "sysadmin"):
            scene.call(role, "POST", f"/placements/{ids['pl_proposed']}/withdraw")
        assert scene.call("cons_a", "GET",
                          f"/participants/{ids['participant_a']}").json() == before
        assert scene.call("cons_a", "GET", f"/slots/{ids['slot_e1']}").json() == slot_before
        assert scene.call("cons_a", "GET",
                          f"/placements/{ids['pl_proposed']}").json() == placement_before.json()
