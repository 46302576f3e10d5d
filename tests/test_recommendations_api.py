"""Suggestions over the API, against a small demo world with a trained model.

The world is seeded and the model trained once per backend (a few seconds); each test runs in a
transaction that is rolled back, with a fresh Matcher (its slot cache is keyed by a change
counter that a rollback can bring back to an earlier value).

The world is pinned to DEMO_TODAY and so is the services' clock (`Context.today` / `Context.now`),
so that the slot periods the rules judge stay current and the trained model is the same on
every run. The world is twice the size of the smallest demo: on 150 participants the model
learns nothing (validation AUC below 0.5, every score the same, no reasons).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, event, select
from sqlalchemy.orm import Session

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.domain.snapshot import profile_snapshot
from matchning.domain.vocab import ParticipantStatus, Role
from matchning.ml.rule_defs import RULE_CODES, RuleDay
from matchning.ml.rules_check import check_pair
from matchning.services import recommendations
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.storage.db import make_session_factory
from matchning.storage.repositories import history
from matchning.storage.tables import ActiveModelRow, AuditRow, ParticipantRow, UnitRow
from tests.conftest import backend_engine, seed_and_train
from tests.factories import Actor, World
from tests.helpers_api import API, assert_error, quick_user
from tests.isolation import rolled_back

K = 5




@dataclass
class Trained:
    client: TestClient
    engine: Engine
    settings: Settings
    version: str
    unit_id: int
    actors: dict[str, Actor]
    best: int = 0  # the unit's waiting participant with the most feasible slots
    real_factory: Any = None
    session: Session | None = field(default=None, repr=False)

    @contextmanager
    def isolated(self) -> Iterator[Trained]:
        """Everything the app and the test do, on one connection rolled back afterwards."""
        with rolled_back(self.client.app, self.engine, self.settings, self.real_factory) as session:
            self.session = session
            try:
                yield self
            finally:
                self.session = None

    def get(self, role: str, url: str, **params: Any) -> Any:
        headers = {} if role == "anon" else self.actors[role].headers
        return self.client.get(API + url, headers=headers, params=params)

    def post(self, role: str, url: str, body: dict[str, Any]) -> Any:
        return self.client.post(API + url, headers=self.actors[role].headers, json=body)

    @property
    def ctx(self) -> Context:
        assert self.session is not None
        return Context(session=self.session, principal=SYSTEM, settings=self.settings)


def _best_participant(factory, settings: Settings, unit_id: int) -> int:
    """The waiting participant with the most feasible slots (nothing is committed)."""
    with factory() as session:
        ctx = Context(session=session, principal=SYSTEM, settings=settings,
                      matcher=Matcher(settings.models_dir))
        waiting = history.participant_rows(session, unit_id=unit_id,
                                           status=ParticipantStatus.waiting.value)
        best = max(waiting, key=lambda p: (recommendations.recommend(ctx, p.id, 1).feasible,
                                           -p.id)).id
        session.rollback()
    return best


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            frozen_day: None) -> Iterator[Trained]:
    tmp = tmp_path_factory.mktemp("recommend")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        result, unit_id = seed_and_train(engine, settings)
        factory = make_session_factory(engine)
        with factory() as session:
            employer_id = history.slot_records(session)[0]["employer_id"]
        world = World(factory, settings)
        unit_b = world.unit(name="Arbetsmarknadsenheten Göteborg", kommuner=["1480"])
        actors = {"cons": quick_user(world, Role.consultant, unit_id=unit_id),
                  "admin": quick_user(world, Role.unit_admin, unit_id=unit_id),
                  "cons_b": quick_user(world, Role.consultant, unit_id=unit_b),
                  "employer": quick_user(world, Role.employer, employer_id=employer_id),
                  "sysadmin": quick_user(world, Role.system_admin)}
        best = _best_participant(factory, settings, unit_id)
        with TestClient(create_app(settings=settings, engine=engine)) as client:
            yield Trained(client, engine, settings, result.version, unit_id, actors, best,
                          client.app.state.session_factory)  # type: ignore[attr-defined]


@pytest.fixture
def w(trained: Trained) -> Iterator[Trained]:
    with trained.isolated() as isolated:
        yield isolated


# --- independent checks ---------------------------------------------------------------------

def rule_codes(w: Trained, participant_id: int, slot_ids: list[int]) -> dict[int, list[str]]:
    """The hard rules each slot breaks for the participant, by the plain row-by-row engine."""
    ctx = w.ctx
    person = ctx.session.get(ParticipantRow, participant_id)
    assert person is not None
    unit = ctx.session.get(UnitRow, person.unit_id)
    hist = recommendations.histories(ctx, unit, [person.id])[person.id]
    day = RuleDay(ctx.today, recommendations.rule_settings(ctx, unit))
    profile = profile_snapshot(person)
    slots = {s["id"]: s for s in history.slot_records(ctx.session, slot_ids=slot_ids)}
    return {sid: check_pair(profile, slots[sid], hist, day, ctx.ref) for sid in slot_ids}


def recommend(w: Trained, pid: int | None = None, role: str = "cons", **params: Any
              ) -> dict[str, Any]:
    r = w.get(role, f"/participants/{pid or w.best}/recommendations", **params)
    assert r.status_code == 200, r.text
    return r.json()


def excluded(w: Trained, pid: int | None = None) -> dict[str, Any]:
    r = w.get("cons", f"/participants/{pid or w.best}/recommendations/excluded", limit=500)
    assert r.status_code == 200, r.text
    return r.json()


def slot_ids(body: dict[str, Any]) -> list[int]:
    return [i["slot"]["id"] for i in body["items"]]


# --- recommendations ------------------------------------------------------------------------

def test_consultant_gets_k_feasible_slots_best_first(w: Trained) -> None:
    body = recommend(w, k=K)
    assert body["participant_id"] == w.best
    assert body["model_version"] == w.version
    items = body["items"]
    assert len(items) == K <= body["feasible"] <= body["considered"]
    assert [i["rank"] for i in items] == list(range(1, K + 1))
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert rule_codes(w, w.best, slot_ids(body)) == {sid: [] for sid in slot_ids(body)}
    records = {s["id"]: s for s in history.slot_records(w.ctx.session, slot_ids=slot_ids(body))}
    for item in items:
        rec = records[item["slot"]["id"]]
        assert item["slot"]["title"] == rec["title"]
        assert item["slot"]["external_id"] == rec["external_id"]
        assert item["slot"]["occupation_label"]
        assert item["employer"] == {"id": rec["employer_id"], "name": rec["employer_name"]}
        assert item["kommun"]["kommunkod"] == rec["kommunkod"] and item["kommun"]["name"]
        assert item["remaining_places"] == rec["remaining"] > 0
        assert item["distance_km"] >= 0
        for reason in item["reasons"]:
            assert set(reason) == {"code", "kind", "text"}
            assert reason["kind"] in {"for", "against"} and reason["text"]
        assert item["reasons"], item


def test_unit_admin_gets_the_same_list(w: Trained) -> None:
    assert slot_ids(recommend(w, role="admin", k=K)) == slot_ids(recommend(w, k=K))


def test_filters_narrow_the_list(w: Trained) -> None:
    full = recommend(w, k=100)
    assert len(full["items"]) == full["feasible"] >= 10
    first = full["items"][0]
    kommun = first["kommun"]["kommunkod"]
    major = first["slot"]["occupation_code"][:1]
    near = sorted(i["distance_km"] for i in full["items"])[len(full["items"]) // 2]
    for params, keeps in (
            ({"kommun": kommun}, lambda i: i["kommun"]["kommunkod"] == kommun),
            ({"occupation": major}, lambda i: i["slot"]["occupation_code"].startswith(major)),
            # distances are shown rounded to 0.1 km: ask halfway between two shown values
            ({"max_km": near + 0.05}, lambda i: i["distance_km"] <= near)):
        got = recommend(w, k=100, **params)
        expected = [i["slot"]["id"] for i in full["items"] if keeps(i)]
        assert got["items"] and all(keeps(i) for i in got["items"]), params
        assert sorted(slot_ids(got)) == sorted(expected), params
        assert got["feasible"] == full["feasible"]
    both = recommend(w, k=100, kommun=kommun, occupation=major, max_km=near + 0.05)
    assert set(slot_ids(both)) <= set(slot_ids(recommend(w, k=100, kommun=kommun)))


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"kommun": "9999"}, "kommun", "Okänd kommunkod"),
    ({"occupation": "99"}, "occupation", "Okänd yrkeskod"),
    ({"kommun": "18"}, "kommun", "format"),
    ({"occupation": "43x"}, "occupation", "format"),
    ({"k": 0}, "k", "minst 1"),
    ({"k": 101}, "k", "högst 100"),
    ({"max_km": 0}, "max_km", "större än 0"),
    ({"max_km": 501}, "max_km", "högst 500"),
])
def test_invalid_filters_are_422_in_swedish(w: Trained, params: dict[str, Any], field: str,
                                            words: str) -> None:
    r = w.get("cons", f"/participants/{w.best}/recommendations", **params)
    err = assert_error(r, 422, code="invalid_input", field=field)
    assert words in str(err), err


def test_who_may_ask(w: Trained) -> None:
    for url in (f"/participants/{w.best}/recommendations",
                f"/participants/{w.best}/recommendations/excluded"):
        assert_error(w.get("cons_b", url), 404, code="not_found")
        assert_error(w.get("cons_b", url.replace(str(w.best), "987654")), 404)
        assert_error(w.get("employer", url), 403, code="forbidden")
        assert_error(w.get("sysadmin", url), 403, code="forbidden")
        assert_error(w.get("anon", url), 401)
    slot = slot_ids(recommend(w, k=1))[0]
    assert_error(w.get("employer", f"/slots/{slot}/candidates"), 403)
    assert_error(w.get("anon", f"/slots/{slot}/candidates"), 401)
    assert_error(w.get("cons", "/slots/987654/candidates"), 404)


def test_no_active_model_is_503(w: Trained) -> None:
    assert w.session is not None
    w.session.execute(delete(ActiveModelRow))
    w.session.flush()
    for url in (f"/participants/{w.best}/recommendations",
                f"/participants/{w.best}/recommendations/excluded",
                f"/slots/{history.slot_records(w.session)[0]['id']}/candidates"):
        err = assert_error(w.get("cons", url), 503, code="model_unavailable")
        assert "matchning train" in err["message"], err
    # access is checked before the model is needed
    assert_error(w.get("cons_b", f"/participants/{w.best}/recommendations"), 404)


# --- excluded -------------------------------------------------------------------------------

def test_excluded_slots_carry_every_rule_they_break(w: Trained) -> None:
    body = excluded(w)
    assert body["participant_id"] == w.best and body["model_version"] == w.version
    full = recommend(w, k=1)
    assert body["total"] == len(body["items"]) == full["considered"] - full["feasible"] > 0
    codes = {i["slot"]["id"]: [r["code"] for r in i["rules"]] for i in body["items"]}
    assert all(codes.values()) and set().union(*codes.values()) <= set(RULE_CODES)
    assert rule_codes(w, w.best, list(codes)) == codes
    for item in body["items"]:
        assert all(r["text"] for r in item["rules"])
        assert {"slot", "employer", "kommun", "distance_km", "remaining_places"} <= set(item)
    r = w.get("cons", f"/participants/{w.best}/recommendations/excluded", limit=3, offset=3)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == body["total"]
    assert slot_ids(r.json()) == slot_ids(body)[3:6]


def test_slot_marked_not_suitable_moves_to_excluded(w: Trained) -> None:
    slot = slot_ids(recommend(w, k=K))[0]
    r = w.post("cons", f"/participants/{w.best}/feedback",
               {"slot_id": slot, "reason": "Deltagaren vill inte arbeta helger."})
    assert r.status_code == 201, r.text
    after = recommend(w, k=K)
    assert slot not in slot_ids(after) and len(after["items"]) == K
    hit = next(i for i in excluded(w)["items"] if i["slot"]["id"] == slot)
    assert "not_suitable" in [r["code"] for r in hit["rules"]]


def test_proposed_slot_moves_to_excluded(w: Trained) -> None:
    slot = slot_ids(recommend(w, k=K))[1]
    r = w.post("cons", "/placements", {"participant_id": w.best, "slot_id": slot})
    assert r.status_code == 201, r.text
    assert slot not in slot_ids(recommend(w, k=K))
    hit = next(i for i in excluded(w)["items"] if i["slot"]["id"] == slot)
    assert "already_proposed" in [r["code"] for r in hit["rules"]]


def test_a_paused_slot_leaves_the_list_at_once(w: Trained) -> None:
    """The worker's slot cache follows the slots' change counter: an edit is seen by the very
    next request, with no restart (places taken and freed bump the same counter)."""
    first = slot_ids(recommend(w, k=K))[0]
    r = w.client.patch(f"{API}/slots/{first}", json={"status": "paused"},
                       headers=w.actors["cons"].headers)
    assert r.status_code == 200, r.text
    after = slot_ids(recommend(w, k=K))
    assert first not in after
    hit = next(i for i in excluded(w)["items"] if i["slot"]["id"] == first)
    assert [r["code"] for r in hit["rules"]] == ["slot_not_open"]


# --- candidates -----------------------------------------------------------------------------

def test_candidates_are_the_units_waiting_participants_best_first(w: Trained) -> None:
    slot = slot_ids(recommend(w, k=1))[0]
    r = w.get("cons", f"/slots/{slot}/candidates", k=100)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["slot_id"] == slot and body["model_version"] == w.version
    waiting = history.participant_rows(w.ctx.session, unit_id=w.unit_id,
                                       status=ParticipantStatus.waiting.value)
    fits = [p.id for p in waiting if not rule_codes(w, p.id, [slot])[slot]]
    assert body["considered"] == len(waiting)
    assert body["feasible"] == len(fits) == len(body["items"])
    assert sorted(i["participant"]["id"] for i in body["items"]) == sorted(fits)
    assert w.best in fits
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert [i["rank"] for i in body["items"]] == list(range(1, len(scores) + 1))
    for item in body["items"]:
        assert set(item["participant"]) == {"id", "external_id", "display_name", "kommunkod"}
        assert all(x["kind"] in {"for", "against"} for x in item["reasons"])
    top = w.get("cons", f"/slots/{slot}/candidates", k=1).json()["items"]
    assert [i["participant"]["id"] for i in top] == [body["items"][0]["participant"]["id"]]
    # another unit's consultant meets only its own (here: no) waiting participants
    other = w.get("cons_b", f"/slots/{slot}/candidates").json()
    assert other["items"] == [] and other["considered"] == 0


# --- audit and schema -----------------------------------------------------------------------

def test_each_read_is_audited_with_the_model_version(w: Trained) -> None:
    body = recommend(w, k=3)
    assert w.session is not None
    rows = list(w.session.scalars(select(AuditRow).where(
        AuditRow.action == "recommendations.read",
        AuditRow.user_id == w.actors["cons"].user_id)))
    assert len(rows) == 1
    row = rows[0]
    assert (row.subject_type, row.subject_id) == ("participant", str(w.best))
    assert row.model_version == w.version
    assert row.detail["slot_ids"] == slot_ids(body) and row.detail["k"] == 3


def test_a_list_reads_and_writes_in_four_statements(w: Trained) -> None:
    """Every round trip costs each request: the token; the participant, its unit and the
    serving state (model, catalogue key, precomputed lists); the pair history; the audit
    row. A warm worker with a used token (its first use in ten minutes writes once more)."""
    recommend(w)
    seen: list[str] = []

    def count(conn, cursor, statement, *rest) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(" ".join(statement.split()))

    event.listen(w.engine, "before_cursor_execute", count)
    try:
        recommend(w)
    finally:
        event.remove(w.engine, "before_cursor_execute", count)
    assert len(seen) == 4, "\n".join(s[:160] for s in seen)
    assert "api_tokens" in seen[0] and "participants" in seen[1] and "active_model" in seen[1]
    assert "placements" in seen[2] and seen[3].startswith("INSERT INTO audit_log"), seen


def test_openapi_documents_the_typed_responses(w: Trained) -> None:
    spec = w.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"RecommendationsPublic", "ExcludedPublic", "CandidatesPublic"} <= set(schemas)
    assert schemas["ReasonPublic"]["properties"]["kind"]["enum"] == ["for", "against"]
    path = spec["paths"][API + "/participants/{participant_id}/recommendations"]["get"]
    params = {p["name"] for p in path["parameters"]}
    assert {"k", "kommun", "occupation", "max_km"} <= params
