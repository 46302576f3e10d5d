"""Allocation plans end to end on the small trained demo world (TRAINED_WORLD), on SQLite and
PostgreSQL: the service, the API (including its refusals), the pages, the CLI, contest counts
and `?spread=true`. The world is seeded once per backend; each test runs in a transaction
rolled back afterwards, with a fresh Matcher."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.principal import SYSTEM, Principal
from matchning.domain.vocab import ParticipantStatus, PlacementStatus, Role
from matchning.errors import Conflict
from matchning.ml import allocation as A
from matchning.services import precompute
from matchning.services.context import Context
from matchning.storage.db import make_session_factory
from matchning.storage.repositories import history
from matchning.storage.tables import (
    AllocationPairRow,
    AllocationPlanRow,
    AuditRow,
    PlacementRow,
    SlotRow,
    UnitRow,
)
from tests.conftest import backend_engine, seed_and_train
from tests.factories import Actor, World
from tests.helpers_api import API, assert_error, quick_user
from tests.helpers_pages import csrf_of, login
from tests.isolation import rolled_back

PASSWORD = "hemligt-lösen-1"


@dataclass
class Trained:
    app: FastAPI
    engine: Engine
    settings: Settings
    unit_id: int
    actors: dict[str, Actor]
    client: TestClient
    real_factory: Any
    session: Session | None = field(default=None, repr=False)

    @contextmanager
    def isolated(self) -> Iterator[Trained]:
        """Everything the app and the test do, on one connection rolled back afterwards."""
        with rolled_back(self.app, self.engine, self.settings, self.real_factory) as session:
            self.session = session
            try:
                yield self
            finally:
                self.session = None

    def ctx(self, principal=SYSTEM) -> Context:
        assert self.session is not None
        return Context(session=self.session, principal=principal, settings=self.settings,
                       matcher=self.app.state.matcher)

    def call(self, role: str, method: str, url: str, body: dict | None = None):
        return self.client.request(method, API + url, json=body,
                                   headers=self.actors[role].headers)

    def count(self, table) -> int:
        assert self.session is not None
        self.session.expire_all()
        return int(self.session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            frozen_day: None) -> Iterator[Trained]:
    tmp = tmp_path_factory.mktemp("allocation")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        _, unit_id = seed_and_train(engine, settings)
        world = World(make_session_factory(engine), settings)
        other_unit = world.unit(name="Arbetsmarknadsenheten Göteborg", kommuner=["1480"])
        employer = world.employer(name="Lager AB")
        actors = {
            "cons": world.user(Role.consultant, unit_id=unit_id, email="kons@example.se",
                               password=PASSWORD),
            "admin": quick_user(world, Role.unit_admin, unit_id=unit_id),
            "cons_b": quick_user(world, Role.consultant, unit_id=other_unit),
            "emp": quick_user(world, Role.employer, employer_id=employer),
            "sys": quick_user(world, Role.system_admin),
        }
        app = create_app(settings=settings, engine=engine)
        with TestClient(app) as client:
            yield Trained(app, engine, settings, unit_id, actors, client,
                          app.state.session_factory)


@pytest.fixture
def t(trained: Trained) -> Iterator[Trained]:
    with trained.isolated() as isolated:
        yield isolated


def _make_plan(t: Trained, **body: Any) -> dict[str, Any]:
    r = t.call("cons", "POST", "/allocations", {"unit_id": t.unit_id, **body})
    assert r.status_code == 201, r.text
    return r.json()


# --- the plan -------------------------------------------------------------------------------

def test_plan_keeps_capacity_and_feasibility_and_beats_greedy(t: Trained) -> None:
    ctx = t.ctx()
    loaded = ctx.matcher.model(ctx.session)
    prep = ctx.matcher.catalogue(ctx.session, loaded, ctx.ref)
    free = {int(r["id"]): int(r["remaining"]) for r in prep.slots.records
            if r["status"] == "open" and int(r["remaining"]) > 0}
    plan = _make_plan(t)
    pairs = plan["pairs"]
    assert plan["method"] == "exact" and plan["model_version"] == loaded.version
    assert pairs, "the demo world has waiting participants and free places"
    assert plan["inputs"]["placed"] == len(pairs)
    # Capacity: no slot over its free places; one slot per participant.
    used: dict[int, int] = {}
    for p in pairs:
        used[p["slot_id"]] = used.get(p["slot_id"], 0) + 1
    assert all(n <= free[s] for s, n in used.items())
    assert len({p["participant_id"] for p in pairs}) == len(pairs)
    # Feasible: every pair is in the participant's live ranking (the rules passed).
    unit = ctx.session.get(UnitRow, t.unit_id)
    waiting = {w.participant_id: w for w in precompute._waiting(ctx, unit)}
    ranked = precompute.rank_chunk(loaded, prep, precompute.ScoringDay(ctx.today, ctx.ref),
                                   30, [waiting[p["participant_id"]] for p in pairs])
    allowed = {(pid, sid): score for pid, sid, _, score, _ in ranked}
    for p in pairs:
        assert p["score"] == pytest.approx(allowed[(p["participant_id"], p["slot_id"])],
                                           abs=1e-4)
    # Every waiting participant is in the problem; the plan is worth at least greedy's.
    assert plan["inputs"]["participants"] == len(waiting)
    total = sum(p["score"] for p in pairs)
    assert total == pytest.approx(plan["inputs"]["expected_completions"], abs=1e-3)
    ot = _make_plan(t, method="ot")
    assert ot["inputs"]["expected_completions"] <= total + 1e-6
    # Stored and audited: one audit row per proposed pair.
    stored = t.call("cons", "GET", f"/allocations/{plan['id']}").json()
    assert {(p["participant_id"], p["slot_id"]) for p in stored["pairs"]} == \
        {(p["participant_id"], p["slot_id"]) for p in pairs}
    assert t.session is not None
    rows = t.session.scalars(select(AuditRow).where(AuditRow.action == "allocation.create"))
    assert len([r for r in rows if r.detail.get("plan_id") == plan["id"]]) == len(pairs)


def test_pins_exclusions_and_the_fairness_floor(t: Trained) -> None:
    first = _make_plan(t)
    a, b = first["pairs"][0], first["pairs"][1]
    # Exclude the first pair; pin the second participant to the first pair's slot instead.
    plan = _make_plan(t, excluded=[{"participant_id": a["participant_id"],
                                    "slot_id": a["slot_id"]}],
                      pinned=[{"participant_id": b["participant_id"],
                               "slot_id": a["slot_id"]}])
    got = {p["participant_id"]: p for p in plan["pairs"]}
    assert got.get(a["participant_id"], {}).get("slot_id") != a["slot_id"]
    assert got[b["participant_id"]]["slot_id"] == a["slot_id"]
    assert got[b["participant_id"]]["pinned"] is True
    fair = _make_plan(t, fairness_floor=0.5)
    assert fair["options"]["fairness_floor"] == 0.5
    assert fair["inputs"]["expected_completions"] <= \
        first["inputs"]["expected_completions"] + 1e-6


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"unit_id": 987654}, 404, None),
    ({"method": "ot", "fairness_floor": 0.8}, 422, "fairness_floor"),
    ({"fairness_floor": 1.5}, 422, None),
    ({"method": "simplex"}, 422, None),
    ({"pinned": [{"participant_id": 987654, "slot_id": 1}]}, 422, "pinned"),
])
def test_bad_requests_are_refused_and_store_nothing(t: Trained, body, status, field) -> None:
    before = t.count(AllocationPlanRow)
    r = t.call("cons", "POST", "/allocations", {"unit_id": t.unit_id, **body})
    assert_error(r, status, field=field)
    assert t.count(AllocationPlanRow) == before


@pytest.mark.parametrize(("role", "status"), [("cons_b", 404), ("emp", 403), ("sys", 403)])
def test_only_the_units_staff_make_and_read_plans(t: Trained, role: str, status: int) -> None:
    plan = _make_plan(t)
    before = t.count(AllocationPlanRow)
    assert_error(t.call(role, "POST", "/allocations", {"unit_id": t.unit_id}), status)
    assert t.count(AllocationPlanRow) == before
    assert_error(t.call(role, "GET", f"/allocations/{plan['id']}"), status)
    pid = plan["pairs"][0]["participant_id"]
    assert_error(t.call(role, "POST", f"/allocations/{plan['id']}/pairs/{pid}/accept"), status)
    assert t.call("admin", "GET", f"/allocations/{plan['id']}").status_code == 200


# --- accept and override --------------------------------------------------------------------

def test_accept_proposes_the_placement_once(t: Trained) -> None:
    plan = _make_plan(t)
    pair = plan["pairs"][0]
    url = f"/allocations/{plan['id']}/pairs/{pair['participant_id']}"
    r = t.call("cons", "POST", url + "/accept")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "accepted" and got["decided_by"] == t.actors["cons"].user_id
    assert t.session is not None
    placement = t.session.get(PlacementRow, got["placement_id"])
    assert placement is not None
    assert (placement.participant_id, placement.slot_id, placement.status) == \
        (pair["participant_id"], pair["slot_id"], PlacementStatus.proposed.value)
    # Decided once: a second accept or an override now conflicts, and changes nothing.
    placements_before = t.count(PlacementRow)
    assert_error(t.call("cons", "POST", url + "/accept"), 409)
    assert_error(t.call("cons", "POST", url + "/override", {"reason": "Ändrade mig."}), 409)
    assert t.count(PlacementRow) == placements_before
    actions = {a for (a,) in t.session.execute(
        select(AuditRow.action).where(AuditRow.subject_id == str(pair["participant_id"])))}
    assert {"allocation.accept", "placement.propose"} <= actions


def test_override_needs_a_reason(t: Trained) -> None:
    plan = _make_plan(t)
    pid = plan["pairs"][0]["participant_id"]
    url = f"/allocations/{plan['id']}/pairs/{pid}/override"
    for body in ({}, {"reason": "   "}):
        err = assert_error(t.call("cons", "POST", url, body), 422, field="reason")
        assert "anledning" in err["message"].lower() or "varför" in err["message"].lower()
    # A NUL cannot be stored by PostgreSQL: refused as input, not a 500.
    err = assert_error(t.call("cons", "POST", url, {"reason": "Nej\x00tack"}), 422,
                       field="reason")
    assert "NUL" in err["details"][0]["message"]
    assert t.session is not None
    t.session.expire_all()
    row = t.session.scalars(select(AllocationPairRow).where(
        AllocationPairRow.plan_id == plan["id"], AllocationPairRow.participant_id == pid)).one()
    assert row.status == "proposed" and row.override_reason is None
    r = t.call("cons", "POST", url, {"reason": "Deltagaren har fått ett eget jobberbjudande."})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "overridden"
    assert r.json()["override_reason"] == "Deltagaren har fått ett eget jobberbjudande."
    audit = t.session.scalars(select(AuditRow).where(AuditRow.action == "allocation.override")
                              ).all()
    assert audit and audit[-1].detail["reason"].startswith("Deltagaren har fått")
    # The participant's export (GDPR access) holds the pair and the decision.
    from matchning.services import export
    t.session.expire_all()
    pairs = export.export_participant(t.ctx(), pid)["allocation_pairs"]
    assert any(a["plan_id"] == plan["id"] and a["status"] == "overridden" for a in pairs)


def test_accepting_when_the_slot_filled_up_since_is_a_conflict(t: Trained) -> None:
    plan = _make_plan(t)
    pair = plan["pairs"][0]
    assert t.session is not None
    slot = t.session.get(SlotRow, pair["slot_id"])
    assert slot is not None
    # Others take every place of the slot after the plan was made.
    taken = history.participant_rows(t.session, unit_id=t.unit_id,
                                     status=ParticipantStatus.waiting.value)
    others = [p.id for p in taken if p.id != pair["participant_id"]]
    from matchning.domain.placement_flow import Action
    from matchning.services import placements
    cons = t.actors["cons"]
    ctx = t.ctx(Principal(cons.user_id, "kons@example.se", Role.consultant, t.unit_id))
    free = slot.capacity - len([pl for pl in t.session.scalars(select(PlacementRow).where(
        PlacementRow.slot_id == slot.id, PlacementRow.status.in_(("accepted", "started"))))])
    for pid in others:
        if free == 0:
            break
        try:
            view = placements.propose(ctx, pid, slot.id)
        except Conflict:  # already proposed there: take the next one
            continue
        placements.transition(ctx, view.row.id, Action.accept)
        free -= 1
    assert free == 0
    t.session.commit()
    before = (t.count(PlacementRow), t.count(AuditRow))
    r = t.call("cons", "POST", f"/allocations/{plan['id']}/pairs/{pair['participant_id']}/accept")
    assert_error(r, 409, code="no_capacity")
    assert (t.count(PlacementRow), t.count(AuditRow)) == before
    t.session.expire_all()
    row = t.session.scalars(select(AllocationPairRow).where(
        AllocationPairRow.plan_id == plan["id"],
        AllocationPairRow.participant_id == pair["participant_id"])).one()
    assert row.status == "proposed" and row.placement_id is None


def test_unknown_plan_or_pair_is_404(t: Trained) -> None:
    plan = _make_plan(t)
    assert_error(t.call("cons", "GET", "/allocations/987654"), 404)
    placed = {p["participant_id"] for p in plan["pairs"]}
    assert_error(t.call("cons", "POST", f"/allocations/{plan['id']}/pairs/987654/accept"), 404)
    assert 987654 not in placed


# --- contest counts and spread --------------------------------------------------------------

def test_contest_counts_and_spread_follow_the_stored_lists(t: Trained) -> None:
    ctx = t.ctx()
    assert t.session is not None
    person = precompute._waiting(ctx, ctx.session.get(UnitRow, t.unit_id))[0]
    url = f"/participants/{person.participant_id}/recommendations?k=10"
    # Without stored lists: nothing known about the contest, and no spread (409).
    plain = t.call("cons", "GET", url).json()["items"]
    assert all(i["contest"] is None and i["contest_text"] is None for i in plain)
    assert_error(t.call("cons", "GET", url + "&spread=true"), 409)
    precompute.precompute(ctx, t.unit_id, 10)
    t.session.commit()
    items = t.call("cons", "GET", url).json()["items"]
    from matchning.storage.repositories import precomputed
    counts = precomputed.top_counts(t.session, t.unit_id, top=3,
                                    exclude_participant_id=person.participant_id)
    for i in items:
        n = counts.get(i["slot"]["id"], 0)
        assert i["contest"] == n
        assert i["contest_text"] == (
            "Ingen annan väntande deltagare har den bland sina tre bästa" if n == 0 else
            "1 annan väntande deltagare har den bland sina tre bästa" if n == 1 else
            f"{n} andra väntande deltagare har den bland sina tre bästa")
    spread = t.call("cons", "GET", url + "&spread=true").json()["items"]
    keys = [i["spread_score"] for i in spread]
    assert keys == sorted(keys, reverse=True)
    assert all(i["spread_score"] <= i["score"] + 1e-4 for i in spread)
    # Off by default: the plain order is by score.
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    # The suggestions page says the same as the API.
    page = TestClient(t.app)
    assert login(page, "kons@example.se", PASSWORD).status_code == 303
    html = page.get(f"/deltagare/{person.participant_id}/forslag").text
    page.close()
    shown = re.findall(r'<dd class="contest">([^<]+)</dd>', html)
    assert shown == [i["contest_text"] for i in items]


def test_spread_prices_come_from_the_transport_plan(t: Trained) -> None:
    ctx = t.ctx()
    precompute.precompute(ctx, t.unit_id, 10)
    loaded = ctx.matcher.model(ctx.session)
    prep = ctx.matcher.catalogue(ctx.session, loaded, ctx.ref)
    from matchning.services import congestion
    prices = congestion.spread_prices(ctx, t.unit_id, prep)
    assert prices and min(prices.values()) >= 0
    values = np.array(list(prices.values()))
    assert values.max() > 0  # some slot is contested in a unit with scarce places
    assert A.DENSE_CELLS > 0


# --- pages and the CLI ----------------------------------------------------------------------

def test_page_shows_the_plan_and_takes_decisions(t: Trained) -> None:
    page = TestClient(t.app)
    assert login(page, "kons@example.se", PASSWORD).status_code == 303
    csrf = csrf_of(page.get("/konto/losenord").text)
    r = page.post("/enhet/fordelning", data={"method": "exact", "csrf_token": csrf},
                  follow_redirects=False)
    assert r.status_code == 303, r.text
    html = page.get("/enhet/fordelning").text
    rows = re.findall(r'<tr id="par-(\d+)">', html)
    assert rows
    plan_id = int(re.search(r'/enhet/fordelning/(\d+)/', html).group(1))
    pid = int(rows[0])
    r = page.post(f"/enhet/fordelning/{plan_id}/{pid}/asidosatt",
                  data={"reason": "", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 422
    assert "Ange varför förslaget inte följs." in r.text
    r = page.post(f"/enhet/fordelning/{plan_id}/{pid}/asidosatt",
                  data={"reason": "Vill hellre jobba med djur.", "csrf_token": csrf},
                  follow_redirects=False)
    assert r.status_code == 303
    detail = page.get(f"/deltagare/{pid}").text
    assert "I fördelningsplanen" in detail and "Vill hellre jobba med djur." in detail
    r = page.post("/enhet/fordelning", data={"method": "ot", "floor": "0,8",
                                             "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 422 and "exact" in r.text
    page.close()


def test_cli_allocate(trained: Trained, monkeypatch: pytest.MonkeyPatch) -> None:
    if trained.engine.dialect.name != "sqlite":
        pytest.skip("the CLI test runs on the SQLite world")
    from matchning.cli import app as cli_app
    from matchning.config import get_settings
    monkeypatch.setenv("MATCHNING_DATABASE_URL", str(trained.engine.url))
    monkeypatch.setenv("MATCHNING_MODELS_DIR", str(trained.settings.models_dir))
    monkeypatch.setenv("MATCHNING_SECRET_KEY", "cli-test-secret")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        bad = runner.invoke(cli_app, ["allocate", "--unit", "987654"])
        assert bad.exit_code == 1 and "Enheten" in bad.output
        r = runner.invoke(cli_app, ["allocate", "--unit", "demo-u-1", "--method", "ot",
                                    "--json"])
        assert r.exit_code == 0, r.output
        import json
        out = json.loads(r.output.strip().splitlines()[-1])
        assert out["method"] == "ot" and out["pairs"]
        r = runner.invoke(cli_app, ["allocate", "--unit", "demo-u-1", "--pin", "x"])
        assert r.exit_code == 1 and "DELTAGARE:PLATS" in r.output
    finally:
        get_settings.cache_clear()
        with make_session_factory(trained.engine)() as session:  # leave the world as it was
            session.query(AllocationPairRow).delete()
            session.query(AllocationPlanRow).delete()
            session.query(AuditRow).filter(AuditRow.action == "allocation.create").delete()
            session.commit()


# --- the evaluation (`matchning evaluate --allocation`) --------------------------------------

def test_evaluation_scores_the_plans_against_the_truth_file(t: Trained, tmp_path) -> None:
    """A truth file of our own (every pair of the world's waiting participants and open slots
    has p = 0.25, except one participant's pairs at 0.9): the evaluation must find the pairs
    by their external ids and score every plan by it."""
    from matchning.demo.truth import write_truth
    from matchning.services import allocation_eval
    assert t.session is not None
    people = history.participant_rows(t.session, unit_id=t.unit_id,
                                      status=ParticipantStatus.waiting.value)
    slots = t.session.scalars(select(SlotRow).where(SlotRow.external_id.is_not(None))).all()
    number = lambda ext: int(ext.rsplit("-", 1)[1])  # noqa: E731
    pi = np.array([number(p.external_id) - 1 for p in people for _ in slots])
    si = np.array([number(s.external_id) - 1 for _ in people for s in slots])
    star = number(people[0].external_id) - 1
    p = np.where(pi == star, 0.9, 0.25)
    path = write_truth(tmp_path / "truth.npz", placement_no=np.zeros(0, np.int64),
                       placement_p=np.zeros(0), placement_pi=np.zeros(0, np.int64),
                       placement_si=np.zeros(0, np.int64), cand_pi=pi, cand_si=si, cand_p=p,
                       meta={"today": "2026-11-01", "variant": "test", "id_formats": {
                           "placement": "demo-pl-{:07d}", "participant": "demo-p-{:06d}",
                           "slot": "demo-s-{:06d}"}})
    result = allocation_eval.evaluate(t.ctx(), path, unit_id=t.unit_id)
    assert result["truth"]["pairs_with_truth"] == result["truth"]["pairs"] > 0
    as_is, congested = result["scenarios"]["as_is"], result["scenarios"]["congested"]
    assert congested["places"] < congested["participants"] == as_is["participants"]
    assert congested["places"] < as_is["places"]
    for sc in (as_is, congested):
        for m in sc["methods"]:
            placed = m["places_filled"]
            star_placed = m["expected_completions"] - 0.25 * placed
            # Each placed pair is worth 0.25, the starred participant's 0.9.
            assert star_placed == pytest.approx(0.0, abs=1e-6) or \
                star_placed == pytest.approx(0.65, abs=1e-6)
            assert m["without_proposal"] == sc["participants"] - placed
    methods = {m["method"]: m for m in as_is["methods"]}
    assert methods["exact"]["model_expected"] >= methods["greedy"]["model_expected"] - 1e-6
    assert methods["exact"]["model_expected"] >= methods["top1"]["model_expected"] - 1e-6


def test_erasure_takes_the_participants_pairs(t: Trained) -> None:
    from matchning.services import erasure
    from matchning.services.placements import OPEN_STATUSES
    from matchning.storage.repositories import people as people_repo
    plan = _make_plan(t)
    assert t.session is not None
    pid = next(p["participant_id"] for p in plan["pairs"]
               if not people_repo.active_placements_of(t.session, p["participant_id"],
                                                       OPEN_STATUSES))
    erasure.erase(t.ctx(), pid)
    t.session.flush()
    left = t.session.scalars(select(AllocationPairRow).where(
        AllocationPairRow.participant_id == pid)).all()
    assert left == []
    assert t.call("cons", "GET", f"/allocations/{plan['id']}").status_code == 200
