"""The consultant's matching pages, without a browser: a participant's suggestions
(/deltagare/{id}/forslag) and the placement board (/placeringar), also as the employer's
"Förslag till oss".

The trained demo world is built once per backend; each logged-in TestClient is kept for the
module, and each test runs on one connection that is rolled back afterwards, with a fresh
Matcher (as in test_recommendations_api).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from markupsafe import escape
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.placement_flow import Action
from matchning.domain.principal import Principal
from matchning.domain.vocab import ParticipantStatus, PlacementStatus, Role
from matchning.services import placements, recommendations, slots
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.services.recommendations import Filters
from matchning.storage.db import make_session_factory
from matchning.storage.repositories import history
from matchning.storage.tables import ActiveModelRow, FeedbackRow, ParticipantRow, PlacementRow
from tests.conftest import backend_engine, seed_and_train
from tests.factories import World
from tests.helpers_pages import csrf_of, login
from tests.isolation import rolled_back

PASSWORD = "hemligt-lösen-1"
ROLES = ("cons", "cons_b", "emp", "emp_b", "sysadmin")


@dataclass
class Site:
    app: FastAPI
    engine: Engine
    settings: Settings
    real_factory: Any
    clients: dict[str, TestClient]
    tokens: dict[str, str]
    principals: dict[str, Principal]
    version: str
    person: int  # a waiting participant of the unit with many feasible slots
    name: str    # their display name
    slot: int    # the person's best suggestion; a slot of "emp"
    session: Session | None = field(default=None, repr=False)

    @contextmanager
    def isolated(self) -> Iterator[Site]:
        """Everything the app and the test do, on one connection rolled back afterwards."""
        with rolled_back(self.app, self.engine, self.settings, self.real_factory) as session:
            self.session = session
            try:
                yield self
            finally:
                self.session = None

    def ctx(self, role: str = "cons") -> Context:
        assert self.session is not None
        return Context(session=self.session, principal=self.principals[role],
                       settings=self.settings, matcher=self.app.state.matcher)

    def get(self, role: str, url: str, **params: Any) -> Response:
        return self.clients[role].get(url, params=params, follow_redirects=False)

    def post(self, role: str, url: str, data: dict[str, Any], csrf: bool = True) -> Response:
        body = {**data, **({"csrf_token": self.tokens[role]} if csrf else {})}
        return self.clients[role].post(url, data=body, follow_redirects=False)

    def placement(self, placement_id: int) -> PlacementRow:
        assert self.session is not None
        self.session.expire_all()
        row = self.session.get(PlacementRow, placement_id)
        assert row is not None
        return row

    def propose(self, participant_id: int | None = None, slot_id: int | None = None) -> int:
        """A proposed placement made through the service, committed to the test's savepoint."""
        view = placements.propose(self.ctx(), participant_id or self.person,
                                  slot_id or self.slot)
        assert self.session is not None
        self.session.commit()
        return view.row.id

    def act(self, placement_id: int, action: Action, role: str = "cons",
            reason: str | None = None) -> None:
        placements.transition(self.ctx(role), placement_id, action, reason=reason)
        assert self.session is not None
        self.session.commit()

    def remaining(self, slot_id: int | None = None) -> int:
        assert self.session is not None
        self.session.expire_all()
        return slots.get(self.ctx(), slot_id or self.slot).remaining_places


def _pick(factory, settings: Settings, cons: Principal, unit_id: int) -> tuple[int, str, int]:
    """A waiting participant with at least 25 feasible slots and their best suggestion
    (nothing is committed)."""
    with factory() as session:
        ctx = Context(session=session, principal=cons, settings=settings,
                      matcher=Matcher(settings.models_dir))
        for p in history.participant_rows(session, unit_id=unit_id,
                                          status=ParticipantStatus.waiting.value):
            found = recommendations.recommend(ctx, p.id, 1)
            if found.feasible >= 25:
                session.rollback()
                return p.id, p.display_name, found.items[0]["slot"]["id"]
    raise AssertionError("no participant in the world has 25 feasible slots")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         frozen_day: None) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("matchpages")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        result, unit_id = seed_and_train(engine, settings)
        factory = make_session_factory(engine)
        world = World(factory, settings)
        unit_b = world.unit(name="Arbetsmarknadsenheten Göteborg", kommuner=["1480"])

        def user(key: str, role: Role, **kw: Any) -> Principal:
            email = f"{key}@example.se"
            actor = world.user(role, email=email, password=PASSWORD, **kw)
            return Principal(actor.user_id, email, role, actor.unit_id, actor.employer_id)

        principals = {"cons": user("cons", Role.consultant, unit_id=unit_id),
                      "cons_b": user("cons_b", Role.consultant, unit_id=unit_b)}
        person, name, slot = _pick(factory, settings, principals["cons"], unit_id)
        with factory() as session:
            recs = history.slot_records(session)
        owner = next(r["employer_id"] for r in recs if r["id"] == slot)
        other = next(r["employer_id"] for r in recs if r["employer_id"] != owner)
        principals |= {"emp": user("emp", Role.employer, employer_id=owner),
                       "emp_b": user("emp_b", Role.employer, employer_id=other),
                       "sysadmin": user("sysadmin", Role.system_admin)}
        app = create_app(settings=settings, engine=engine)
        with TestClient(app) as first:
            clients = {"cons": first, **{r: TestClient(app) for r in ROLES[1:]}}
            tokens = {}
            for role, client in clients.items():
                assert login(client, principals[role].email, PASSWORD).status_code == 303
                tokens[role] = csrf_of(client.get("/konto/losenord").text)
            yield Site(app, engine, settings, app.state.session_factory, clients, tokens,
                       principals, result.version, person, name, slot)
            for client in clients.values():
                client.close()


@pytest.fixture
def s(site: Site) -> Iterator[Site]:
    with site.isolated() as isolated:
        yield isolated


# --- reading the pages ----------------------------------------------------------------------

def listed(html: str) -> list[int]:
    """The suggested slots on a suggestions page, in order."""
    return [int(i) for i in re.findall(r'<li class="card suggestion" id="plats-(\d+)"', html)]


def excluded_rows(html: str) -> list[int]:
    part = html.split('<details class="excluded"', 1)[1]
    return [int(i) for i in re.findall(r'<tr>\s*<td><a href="/platser/(\d+)"', part)]


def card(html: str, placement_id: int) -> str:
    m = re.search(rf'id="placering-{placement_id}">(.*?)</li>', html, re.S)
    assert m, f"placement {placement_id} is not on the board"
    return m.group(1)


def column_of(html: str, placement_id: int) -> str:
    for part in html.split('<section aria-labelledby="kolumn-')[1:]:
        if f'id="placering-{placement_id}"' in part:
            return part.split('"', 1)[0]
    raise AssertionError(f"placement {placement_id} is in no column")


def field_error(html: str, field_id: str) -> str:
    m = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-fel">([^<]+)</p>', html)
    assert m, f"no error next to {field_id}"
    return m.group(1)


def remaining_on(card_html: str) -> int:
    m = re.search(r"<dt>Lediga platser</dt><dd>(\d+) av \d+</dd>", card_html)
    assert m, card_html
    return int(m.group(1))


def e(text: str) -> str:
    """`text` as the pages print it (HTML-escaped)."""
    return str(escape(text))


def suggestions_url(s: Site) -> str:
    return f"/deltagare/{s.person}/forslag"


def count(s: Site, table: Any, **where: Any) -> int:
    assert s.session is not None
    stmt = select(func.count()).select_from(table).where(
        *(getattr(table, k) == v for k, v in where.items()))
    return s.session.scalar(stmt) or 0


# --- suggestions ----------------------------------------------------------------------------

def test_suggestions_are_the_services_ranking_with_reasons_and_actions(s: Site) -> None:
    r = s.get("cons", suggestions_url(s))
    assert r.status_code == 200, r.text
    html = r.text
    expected = recommendations.recommend(s.ctx(), s.person, 10)
    assert listed(html) == [i["slot"]["id"] for i in expected.items]
    assert html.count("<h1>") == 1 and e(s.name) in html
    first = expected.items[0]
    assert f'href="/platser/{first["slot"]["id"]}"' in html
    assert e(first["employer"]["name"]) in html
    assert f'value="{first["score"]:.3f}"' in html  # the meter (macros.score)
    assert f'{round(100 * first["score"])} %' in html
    for reason in first["reasons"]:
        assert e(reason["text"][1:]) in html
    assert "Talar för" in html and "Talar emot" in html
    assert html.count("Föreslå placering") >= 10 and "Passar inte" in html
    assert "Lediga platser" in html and "Period" in html and "hemifrån" in html
    assert f"Modell {s.version}" in html
    assert "du som konsulent som bestämmer" in html
    assert "<summary>Visa uteslutna platser och varför</summary>" in html
    # "visa fler"
    assert f'{suggestions_url(s)}?k=20' in html and f'{suggestions_url(s)}?k=50' in html


def test_more_suggestions_on_request(s: Site) -> None:
    r = s.get("cons", suggestions_url(s), k="20")
    assert r.status_code == 200
    assert len(listed(r.text)) == 20
    assert "Visa fler förslag (20)" not in r.text and "Visa fler förslag (50)" in r.text


def test_filters_are_the_apis(s: Site) -> None:
    person = s.session.get(ParticipantRow, s.person) if s.session else None
    assert person is not None
    r = s.get("cons", suggestions_url(s), kommun=person.kommunkod, max_km="8,5")
    assert r.status_code == 200, r.text
    expected = recommendations.recommend(s.ctx(), s.person, 10,
                                         Filters(kommun=person.kommunkod, max_km=8.5))
    assert listed(r.text) == [i["slot"]["id"] for i in expected.items]
    assert f'value="{person.kommunkod}"' in r.text  # the field keeps what was typed
    # the filters travel with the forms
    assert f'<input type="hidden" name="kommun" value="{person.kommunkod}">' in r.text
    occupation = expected.items[0]["slot"]["occupation_code"][:2] if expected.items else "5"
    r = s.get("cons", suggestions_url(s), occupation=occupation)
    got = recommendations.recommend(s.ctx(), s.person, 10, Filters(occupation=occupation))
    assert listed(r.text) == [i["slot"]["id"] for i in got.items]


@pytest.mark.parametrize(("params", "field"), [
    ({"max_km": "långt"}, "max_km"), ({"max_km": "900"}, "max_km"),
    ({"kommun": "Ingenstans"}, "kommun"), ({"occupation": "9999"}, "occupation"),
    ({"occupation": "yrke som inte finns"}, "occupation")])
def test_invalid_filters_are_422_next_to_the_field(s: Site, params: dict[str, str],
                                                    field: str) -> None:
    r = s.get("cons", suggestions_url(s), **params)
    assert r.status_code == 422, r.text
    assert field_error(r.text, field)
    assert 'aria-invalid="true"' in r.text and listed(r.text) == []


def test_excluded_slots_with_why_are_paged_behind_a_toggle(s: Site) -> None:
    found, total = recommendations.excluded(s.ctx(), s.person, 40, 0)
    assert total > 20
    r = s.get("cons", suggestions_url(s))
    assert '<details class="excluded">' in r.text  # closed at first
    assert excluded_rows(r.text) == [i["slot"]["id"] for i in found.items[:20]]
    for rule in found.items[0]["rules"]:
        assert e(rule["text"]) in r.text
    assert "uteslutna=20#uteslutna" in r.text
    r = s.get("cons", suggestions_url(s), uteslutna="20")
    assert '<details class="excluded" open>' in r.text
    assert excluded_rows(r.text) == [i["slot"]["id"] for i in found.items[20:40]]
    assert f"Visar 21–{min(40, total)} av {total}" in r.text


def test_who_may_see_suggestions(s: Site) -> None:
    url = suggestions_url(s)
    assert s.get("emp", url).status_code == 403
    assert s.get("sysadmin", url).status_code == 403
    r = s.get("cons_b", url)
    assert r.status_code == 404 and e(s.name) not in r.text
    anon = TestClient(s.app).get(url, follow_redirects=False)
    assert anon.status_code == 303 and anon.headers["location"].startswith("/logga-in")


def test_without_a_model_a_friendly_page_says_an_admin_must_train_one(s: Site) -> None:
    assert s.session is not None
    s.session.execute(delete(ActiveModelRow))
    s.session.commit()
    r = s.get("cons", suggestions_url(s))
    assert r.status_code == 503
    assert "systemadministratör" in r.text and "träna en modell" in r.text
    assert e(s.name) in r.text and listed(r.text) == []
    assert s.get("cons_b", suggestions_url(s)).status_code == 404  # access comes first


def test_propose_goes_to_the_board_with_the_new_placement(s: Site) -> None:
    r = s.post("cons", f"{suggestions_url(s)}/foresla", {"slot_id": s.slot, "k": "10"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/placeringar?deltagare={s.person}"
    assert s.session is not None
    row = s.session.scalars(select(PlacementRow).where(
        PlacementRow.participant_id == s.person, PlacementRow.slot_id == s.slot)).one()
    assert row.status == PlacementStatus.proposed.value
    page = s.get("cons", r.headers["location"])
    assert "är föreslagen till" in page.text
    assert column_of(page.text, row.id) == "foreslagna"
    # proposed: the slot has left the suggestions
    assert s.slot not in listed(s.get("cons", suggestions_url(s)).text)


def test_a_conflicting_proposal_is_409_on_the_suggestions_page(s: Site) -> None:
    s.propose()
    before = count(s, PlacementRow, participant_id=s.person)
    r = s.post("cons", f"{suggestions_url(s)}/foresla", {"slot_id": s.slot, "k": "20"})
    assert r.status_code == 409, r.text
    assert "Placeringen föreslogs inte" in r.text and 'role="alert"' in r.text
    assert len(listed(r.text)) == 20  # the page is shown again as it was asked for
    assert count(s, PlacementRow, participant_id=s.person) == before


def test_not_suitable_needs_a_reason_and_then_removes_the_slot(s: Site) -> None:
    url = f"{suggestions_url(s)}/passar-inte"
    r = s.post("cons", url, {"slot_id": s.slot, "choice": "", "own_reason": "  ",
                             "max_km": "30"})
    assert r.status_code == 422, r.text
    assert "anledning" in field_error(r.text, f"reason-{s.slot}")
    assert re.search(rf'<li class="card suggestion" id="plats-{s.slot}">.*?'
                     r'<details class="reject" open>', r.text, re.S)
    assert count(s, FeedbackRow, participant_id=s.person) == 0
    r = s.post("cons", url, {"slot_id": s.slot, "choice": "För lång resväg",
                             "own_reason": "Två byten med buss.", "max_km": "30"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{suggestions_url(s)}?max_km=30"
    assert s.session is not None
    fb = s.session.scalars(select(FeedbackRow).where(
        FeedbackRow.participant_id == s.person)).one()
    assert fb.slot_id == s.slot and fb.reason == "För lång resväg: Två byten med buss."
    page = s.get("cons", suggestions_url(s))
    assert s.slot not in listed(page.text)
    assert "passar inte" in page.text.lower()


def test_suggestion_forms_without_csrf_are_refused(s: Site) -> None:
    placed = count(s, PlacementRow, participant_id=s.person)
    for action, data in (("foresla", {"slot_id": s.slot}),
                         ("passar-inte", {"slot_id": s.slot, "choice": "Deltagaren vill inte"})):
        r = s.post("cons", f"{suggestions_url(s)}/{action}", data, csrf=False)
        assert r.status_code == 403, r.text
    assert count(s, PlacementRow, participant_id=s.person) == placed
    assert count(s, FeedbackRow, participant_id=s.person) == 0


# --- the board ------------------------------------------------------------------------------

def test_the_board_has_four_columns_and_the_units_placements(s: Site) -> None:
    pid = s.propose()
    r = s.get("cons", "/placeringar")
    assert r.status_code == 200, r.text
    for title in ("Föreslagen", "Accepterad", "Pågår", "Avslutad/avbruten"):
        assert f">{title} <span" in r.text
    mine = card(r.text, pid)
    assert f'href="/deltagare/{s.person}"' in mine and e(s.name) in mine
    assert f'href="/platser/{s.slot}"' in mine
    assert ">Acceptera" in mine and ">Återta" in mine and ">Neka" in mine
    assert ">Starta" not in mine  # not yet accepted
    assert "De 15 senaste av" in r.text  # the ended column shows the latest only


def test_the_board_for_one_participant(s: Site) -> None:
    pid = s.propose()
    r = s.get("cons", "/placeringar", deltagare=str(s.person))
    assert r.status_code == 200
    assert f"<h1>Placeringar för {e(s.name)}</h1>" in r.text
    assert card(r.text, pid)
    names = set(re.findall(r'<h3><a href="/deltagare/(\d+)">', r.text))
    assert names == {str(s.person)}
    assert s.get("cons_b", "/placeringar", deltagare=str(s.person)).status_code == 404


def test_the_whole_flow_moves_the_card_and_the_remaining_places(s: Site) -> None:
    before = s.remaining()
    pid = s.propose()
    # the employer sees only the name and what the placement needs
    r = s.get("emp", "/placeringar")
    assert r.status_code == 200 and "<h1>Förslag till oss</h1>" in r.text
    mine = card(r.text, pid)
    assert e(s.name) in mine and "/deltagare/" not in r.text
    assert "Handledare" in mine and "Kan börja" in mine and "Arbetstid" in mine
    assert ">Acceptera" in mine and ">Neka" in mine
    assert ">Återta" not in mine and "Spara utfall" not in mine
    assert remaining_on(mine) == before

    steps = [("emp", "acceptera", "accepterade", before - 1),
             ("cons", "starta", "pagaende", before - 1),
             ("emp", "avsluta", "avslutade", before)]
    for role, slug, column, left in steps:
        r = s.post(role, f"/placeringar/{pid}/{slug}", {})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"/placeringar#placering-{pid}"
        page = s.get(role, "/placeringar")
        assert f"{e(s.name)} på" in page.text  # the flash
        assert column_of(page.text, pid) == column
        assert remaining_on(card(page.text, pid)) == left == s.remaining()
    assert "Spara utfall" not in card(s.get("emp", "/placeringar").text, pid)
    r = s.post("cons", f"/placeringar/{pid}/utfall", {"outcome": "arbete",
                                                       "deltagare": str(s.person)})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/placeringar?deltagare={s.person}#placering-{pid}"
    assert s.placement(pid).outcome == "arbete"
    mine = card(s.get("cons", r.headers["location"]).text, pid)
    assert "<dt>Utfall</dt><dd>Arbete</dd>" in mine


def test_decline_needs_a_reason(s: Site) -> None:
    pid = s.propose()
    r = s.post("emp", f"/placeringar/{pid}/neka", {"reason": " "})
    assert r.status_code == 422, r.text
    assert "anledning" in field_error(r.text, f"anledning-decline-{pid}").lower()
    assert '<details class="reason-form" open>' in card(r.text, pid)
    assert s.placement(pid).status == PlacementStatus.proposed.value
    r = s.post("emp", f"/placeringar/{pid}/neka", {"reason": "Ingen handledare i december."})
    assert r.status_code == 303
    row = s.placement(pid)
    assert row.status == PlacementStatus.declined.value
    assert row.decline_reason == "Ingen handledare i december."
    page = s.get("cons", "/placeringar")
    assert column_of(page.text, pid) == "avslutade"
    assert "Ingen handledare i december." in card(page.text, pid)


def test_abort_takes_a_reason_from_the_list_and_then_an_outcome(s: Site) -> None:
    pid = s.propose()
    s.act(pid, Action.accept)
    s.act(pid, Action.start)
    r = s.post("emp", f"/placeringar/{pid}/avbryt", {"reason": "tråkigt"})
    assert r.status_code == 422, r.text
    assert field_error(r.text, f"anledning-abort-{pid}")
    assert s.placement(pid).status == PlacementStatus.started.value
    r = s.post("emp", f"/placeringar/{pid}/avbryt", {"reason": "fick arbete"})
    assert r.status_code == 303
    assert s.placement(pid).abort_reason == "fick arbete"
    mine = card(s.get("cons", "/placeringar").text, pid)
    assert "Spara utfall" in mine and 'name="outcome"' in mine


def test_outcome_errors(s: Site) -> None:
    pid = s.propose()
    r = s.post("cons", f"/placeringar/{pid}/utfall", {"outcome": "arbete"})
    assert r.status_code == 409, r.text  # not ended yet
    assert s.placement(pid).outcome is None
    s.act(pid, Action.accept)
    s.act(pid, Action.start)
    s.act(pid, Action.complete)
    r = s.post("cons", f"/placeringar/{pid}/utfall", {"outcome": "lottovinst"})
    assert r.status_code == 422, r.text
    assert field_error(r.text, f"utfall-{pid}")
    assert s.placement(pid).outcome is None
    assert s.post("emp", f"/placeringar/{pid}/utfall", {"outcome": "arbete"}).status_code \
        == 403
    assert s.placement(pid).outcome is None


def test_an_illegal_step_is_409_and_changes_nothing(s: Site) -> None:
    pid = s.propose()
    r = s.post("cons", f"/placeringar/{pid}/starta", {})
    assert r.status_code == 409, r.text
    assert "Det går inte att starta" in r.text and f'href="#placering-{pid}"' in r.text
    assert s.placement(pid).status == PlacementStatus.proposed.value


def test_the_last_place_cannot_be_taken_twice(s: Site) -> None:
    assert s.session is not None
    ctx = s.ctx()
    rec = next(r for r in history.slot_records(s.session, only_open=True)
               if r["remaining"] == 1 and (r["end_date"] is None or r["end_date"] >= ctx.today))
    waiting = [p.id for p in history.participant_rows(
        s.session, unit_id=s.principals["cons"].unit_id,
        status=ParticipantStatus.waiting.value)][:2]
    first, second = (s.propose(p, rec["id"]) for p in waiting)
    s.act(first, Action.accept)
    r = s.post("cons", f"/placeringar/{second}/acceptera", {})
    assert r.status_code == 409, r.text
    assert "inga lediga platser" in r.text
    assert s.placement(second).status == PlacementStatus.proposed.value


def test_employers_see_only_their_own_and_act_only_on_their_side(s: Site) -> None:
    pid = s.propose()
    assert f'id="placering-{pid}"' not in s.get("emp_b", "/placeringar").text
    assert s.post("emp_b", f"/placeringar/{pid}/acceptera", {}).status_code == 404
    assert s.post("emp", f"/placeringar/{pid}/aterta", {}).status_code == 403
    assert s.placement(pid).status == PlacementStatus.proposed.value
    # the unit withdraws it; the employer sees it among the ended ones, without buttons
    assert s.post("cons", f"/placeringar/{pid}/aterta", {}).status_code == 303
    assert s.placement(pid).status == PlacementStatus.withdrawn.value
    page = s.get("emp", "/placeringar")
    assert column_of(page.text, pid) == "avslutade" and "<button" not in card(page.text, pid)


def test_board_forms_without_csrf_are_refused(s: Site) -> None:
    pid = s.propose()
    assert s.post("emp", f"/placeringar/{pid}/acceptera", {}, csrf=False).status_code == 403
    assert s.post("cons", f"/placeringar/{pid}/aterta", {}, csrf=False).status_code == 403
    assert s.placement(pid).status == PlacementStatus.proposed.value


def test_board_access(s: Site) -> None:
    anon = TestClient(s.app).get("/placeringar", follow_redirects=False)
    assert anon.status_code == 303 and anon.headers["location"].startswith("/logga-in")
    pid = s.propose()
    assert s.post("cons", f"/placeringar/{pid}/flyga", {}).status_code == 404
    r = s.get("sysadmin", "/placeringar")  # may look, may not act
    assert r.status_code == 200
    assert "<button" not in card(r.text, pid)


def test_open_columns_are_newest_first_and_paged(s: Site) -> None:
    first, second = s.propose(), s.propose(slot_id=_another_slot(s))
    page = s.get("cons", "/placeringar").text
    assert proposed_column(page)[:2] == [second, first]
    shifted = s.get("cons", "/placeringar", fran_foreslagna="1").text
    assert proposed_column(shifted)[0] == first


def proposed_column(html: str) -> list[int]:
    part = html.split('<section aria-labelledby="kolumn-foreslagna">', 1)[1]
    return [int(i) for i in re.findall(r'id="placering-(\d+)"', part.split("<section", 1)[0])]


def _another_slot(s: Site) -> int:
    found = recommendations.recommend(s.ctx(), s.person, 3)
    return next(i["slot"]["id"] for i in found.items if i["slot"]["id"] != s.slot)


def test_the_ended_column_reads_and_audits_only_the_latest_it_shows(s: Site) -> None:
    from matchning.domain.vocab import ENDED_STATUSES
    from matchning.services import board
    from matchning.storage.tables import AuditRow

    assert s.session is not None
    ended = [r for r in s.session.scalars(select(PlacementRow).join(
        ParticipantRow, ParticipantRow.id == PlacementRow.participant_id).where(
        ParticipantRow.unit_id == s.principals["cons"].unit_id,
        PlacementRow.status.in_([e.value for e in ENDED_STATUSES])))]
    assert len(ended) > 15  # the demo world has a long history: the cut matters
    want = sorted(ended, key=lambda r: (r.ended_on or r.decided_on or r.proposed_on, r.id),
                  reverse=True)[:15]

    def audit_rows() -> int:
        return s.session.scalar(select(func.count()).select_from(AuditRow).where(
            AuditRow.action == "placement.list")) or 0

    before = audit_rows()
    got = board.board(s.ctx(), limit=1)
    column = got.columns[-1]
    assert [c.placement.row.id for c in column.cards] == [r.id for r in want]
    assert column.total == len(ended)
    shown = sum(len(c.cards) for c in got.columns)
    assert audit_rows() - before == shown  # nothing read that the page does not show
