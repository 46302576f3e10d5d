"""The slot pages (/platser, /platser/{id}, the slot form, /mina-platser) through the browser's
eyes, without a browser: TestClient with a logged-in session per role.

The trained demo world is built once per backend; each test runs on one connection that is
rolled back afterwards (as in test_recommendations_api), with a fresh Matcher.
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
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.placement_flow import Action
from matchning.domain.principal import Principal
from matchning.domain.records import ParticipantData, SlotData
from matchning.domain.vocab import PlacementStatus, Role
from matchning.services import participants, placements, recommendations, slots
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.storage.db import make_session_factory
from matchning.storage.repositories import history
from matchning.storage.tables import EmployerRow, PlacementRow, SlotRow
from tests.conftest import backend_engine, seed_and_train
from tests.factories import World
from tests.helpers_pages import csrf_of, login, post_form
from tests.isolation import rolled_back

PASSWORD = "hemligt-lösen-1"
ROLES = ("cons", "emp", "emp_b", "sysadmin")


@dataclass
class Site:
    app: FastAPI
    engine: Engine
    settings: Settings
    real_factory: Any
    clients: dict[str, TestClient]
    principals: dict[str, Principal]
    unit_id: int
    slot_id: int          # open, free places, owned by "emp", with a waiting candidate
    candidate_id: int     # a waiting participant of the unit who fits slot_id
    other_slot_id: int    # a slot of "emp_b"
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

    def ctx(self, role: str) -> Context:
        assert self.session is not None
        return Context(session=self.session, principal=self.principals[role],
                       settings=self.settings, matcher=self.app.state.matcher)

    def slot(self, slot_id: int) -> SlotRow:
        assert self.session is not None
        self.session.expire_all()
        row = self.session.get(SlotRow, slot_id)
        assert row is not None
        return row


def _pick_slot(factory, settings: Settings, cons: Principal) -> tuple[int, int]:
    """An open slot with free places that has a waiting candidate in the unit (nothing is
    committed): (slot id, candidate id)."""
    with factory() as session:
        ctx = Context(session=session, principal=cons, settings=settings,
                      matcher=Matcher(settings.models_dir))
        for rec in history.slot_records(session, only_open=True):
            ended = rec["end_date"] is not None and rec["end_date"] < ctx.today
            if rec["remaining"] < 1 or ended:
                continue
            found = recommendations.candidates(ctx, rec["id"], k=1)
            if found.items:
                session.rollback()
                return rec["id"], found.items[0]["participant"]["id"]
        raise AssertionError("no slot in the world has a candidate")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         frozen_day: None) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("slotpages")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        _, unit_id = seed_and_train(engine, settings)
        factory = make_session_factory(engine)
        world = World(factory, settings)
        cons = world.user(Role.consultant, unit_id=unit_id, email="kons@example.se")
        cons_p = Principal(cons.user_id, "kons@example.se", Role.consultant, unit_id=unit_id)
        slot_id, candidate_id = _pick_slot(factory, settings, cons_p)
        with factory() as session:
            recs = history.slot_records(session)
        owner = next(r["employer_id"] for r in recs if r["id"] == slot_id)
        other = next(r for r in recs if r["employer_id"] != owner)
        emp = world.user(Role.employer, employer_id=owner, email="arbetsgivare@example.se")
        emp_b = world.user(Role.employer, employer_id=other["employer_id"],
                           email="annan@example.se")
        sysadmin = world.user(Role.system_admin, email="sys@example.se")
        principals = {
            "cons": cons_p,
            "emp": Principal(emp.user_id, "arbetsgivare@example.se", Role.employer,
                             employer_id=owner),
            "emp_b": Principal(emp_b.user_id, "annan@example.se", Role.employer,
                               employer_id=other["employer_id"]),
            "sysadmin": Principal(sysadmin.user_id, "sys@example.se", Role.system_admin)}
        app = create_app(settings=settings, engine=engine)
        with TestClient(app) as first:
            clients = {"cons": first, **{r: TestClient(app) for r in ROLES[1:]}}
            for role, client in clients.items():
                r = login(client, principals[role].email, PASSWORD)
                assert r.status_code == 303, r.text
            yield Site(app, engine, settings, app.state.session_factory, clients, principals,
                       unit_id, slot_id, candidate_id, other["id"])
            for client in clients.values():
                client.close()


@pytest.fixture
def s(site: Site) -> Iterator[Site]:
    with site.isolated() as isolated:
        yield isolated


def page(s: Site, role: str, url: str, status: int = 200) -> str:
    r = s.clients[role].get(url, follow_redirects=False)
    assert r.status_code == status, (r.status_code, r.text[:2000])
    return r.text


def error_next_to(html: str, field: str) -> str:
    m = re.search(rf'<p class="field-error" id="{field}-fel">([^<]+)</p>', html)
    assert m, f"no error next to {field}"
    return m.group(1)


def slot_form(**kw: Any) -> dict[str, Any]:
    return {"title": "Butiksbiträde i vår livsmedelsbutik", "occupation": "5223",
            "description": "Kassa och påfyllning.", "capacity": "2", "hours_per_week": "30",
            "start_date": "2026-11-10", "end_date": "2027-02-01",
            "required_skills": "kassahantering", "physical_demand": "medel",
            "supervisor": "on", **kw}


# --- /platser ---------------------------------------------------------------------------------

def test_consultant_lists_open_slots_with_filters(s: Site) -> None:
    html = page(s, "cons", "/platser")
    assert "<h1>Praktikplatser</h1>" in html and "lediga" in html
    assert 'href="/platser/ny"' in html and "Nästa" in html  # more than one page
    free = page(s, "cons", "/platser?lediga=1&status=open")
    assert "lediga</td>" in free and not re.search(r"<td>0 av \d+ lediga</td>", free)
    row = s.slot(s.slot_id)
    near = page(s, "cons", f"/platser?kommun={row.kommunkod}&yrke={row.occupation_code}")
    assert f'href="/platser/{s.slot_id}"' in near
    bad = page(s, "cons", "/platser?kommun=Atlantis&yrke=drakt%C3%A4mjare", 422)
    assert "Välj en kommun i listan" in error_next_to(bad, "kommun")
    assert "Välj ett yrke i listan" in error_next_to(bad, "yrke")


def test_employer_is_sent_to_own_slots_and_anonymous_to_login(s: Site) -> None:
    r = s.clients["emp"].get("/platser", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/mina-platser"
    r = TestClient(s.app).get("/platser", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/logga-in?nasta=")
    assert "Sidan Mina platser är för arbetsgivare" in page(s, "cons", "/mina-platser", 403)


# --- one slot ---------------------------------------------------------------------------------

def test_consultant_sees_the_waiting_participants_who_fit(s: Site) -> None:
    html = page(s, "cons", f"/platser/{s.slot_id}")
    row = s.slot(s.slot_id)
    assert f"<h1>{row.title}</h1>" in html
    assert "Väntande deltagare som passar bäst" in html
    assert f'href="/deltagare/{s.candidate_id}"' in html
    assert "<meter" in html and " %</strong>" in html and "Föreslå placering" in html
    assert "lediga" in html and "Krav och stöd" in html


def waiting_on(html: str, slot_id: int) -> int:
    """The "proposals waiting for an answer" count of one slot on /mina-platser."""
    m = re.search(rf'href="/placeringar\?plats={slot_id}">(\d+) väntar', html)
    return int(m.group(1)) if m else 0


def test_propose_from_the_slot_page(s: Site) -> None:
    url = f"/platser/{s.slot_id}"
    waiting_before = waiting_on(page(s, "emp", "/mina-platser"), s.slot_id)
    r = post_form(s.clients["cons"], url, f"{url}/foresla",
                  {"participant_id": s.candidate_id})
    assert r.status_code == 303 and r.headers["location"] == url
    assert "är föreslagen till" in page(s, "cons", url)
    made = s.session.scalars(select(PlacementRow).where(  # type: ignore[union-attr]
        PlacementRow.participant_id == s.candidate_id, PlacementRow.slot_id == s.slot_id,
        PlacementRow.status == PlacementStatus.proposed.value)).all()
    assert len(made) == 1
    again = post_form(s.clients["cons"], url, f"{url}/foresla",
                      {"participant_id": s.candidate_id})
    assert again.status_code == 409 and "redan en öppen placering" in again.text
    # The employer sees the proposal waiting, by name only, and a way to the board.
    mine = page(s, "emp", "/mina-platser")
    assert "förslag väntar på ert svar" in mine
    assert waiting_on(mine, s.slot_id) == waiting_before + 1
    own = page(s, "emp", url)
    assert made[0].participant_id and "Väntande deltagare" not in own
    assert f'href="/deltagare/{s.candidate_id}"' not in own
    assert 'href="/placeringar?plats=' in own


def test_propose_without_csrf_is_refused(s: Site) -> None:
    r = s.clients["cons"].post(f"/platser/{s.slot_id}/foresla",
                               data={"participant_id": s.candidate_id})
    assert r.status_code == 403 and "Du har inte behörighet" in r.text
    assert s.session.scalars(select(PlacementRow).where(  # type: ignore[union-attr]
        PlacementRow.participant_id == s.candidate_id,
        PlacementRow.slot_id == s.slot_id)).first() is None


def test_without_a_model_the_page_says_so(s: Site) -> None:
    s.app.state.matcher = None
    html = page(s, "cons", f"/platser/{s.slot_id}")
    assert "Förslag på deltagare kan inte visas just nu" in html
    assert "Om platsen" in html


def test_employer_and_sysadmin_see_the_slot_without_candidates(s: Site) -> None:
    for role in ("emp", "sysadmin"):
        html = page(s, role, f"/platser/{s.slot_id}")
        assert "Placeringar på platsen" in html and "Redigera" in html
        assert "Väntande deltagare som passar bäst" not in html
    assert "Praktikplatser" in page(s, "sysadmin", "/platser")


def test_another_employers_slot_is_the_403_page(s: Site) -> None:
    for url in (f"/platser/{s.other_slot_id}", f"/platser/{s.other_slot_id}/redigera"):
        html = page(s, "emp", url, 403)
        assert "Du har inte behörighet" in html and "Vad kan du göra nu?" in html
    before = s.slot(s.other_slot_id).status
    r = post_form(s.clients["emp"], "/mina-platser", f"/platser/{s.other_slot_id}/status",
                  {"status": "closed"})
    assert r.status_code == 403
    assert s.slot(s.other_slot_id).status == before


# --- /mina-platser and status ---------------------------------------------------------------

def test_my_slots_lists_only_own_slots(s: Site) -> None:
    html = page(s, "emp", "/mina-platser")
    assert "<h1>Mina praktikplatser</h1>" in html
    assert f'href="/platser/{s.slot_id}"' in html
    assert f'href="/platser/{s.other_slot_id}"' not in html
    assert 'href="/platser/ny"' in html and "Pausa" in html


def test_pause_close_and_reopen(s: Site) -> None:
    client = s.clients["emp"]
    for target, word in (("paused", "pausad"), ("closed", "stängd"), ("open", "öppen igen")):
        r = post_form(client, "/mina-platser", f"/platser/{s.slot_id}/status",
                      {"status": target, "tillbaka": "/mina-platser"})
        assert r.status_code == 303 and r.headers["location"] == "/mina-platser"
        assert s.slot(s.slot_id).status == target
        assert word in page(s, "emp", "/mina-platser")
    # Elsewhere than the two pages is never a target.
    r = post_form(client, "/mina-platser", f"/platser/{s.slot_id}/status",
                  {"status": "paused", "tillbaka": "https://example.com/"})
    assert r.headers["location"] == f"/platser/{s.slot_id}"
    bad = post_form(client, f"/platser/{s.slot_id}", f"/platser/{s.slot_id}/status",
                    {"status": "borta"})
    assert bad.status_code == 422 and "Statusen ändrades inte" in bad.text
    assert s.slot(s.slot_id).status == "paused"
    r = client.post(f"/platser/{s.slot_id}/status", data={"status": "open"})
    assert r.status_code == 403 and s.slot(s.slot_id).status == "paused"


# --- the form ---------------------------------------------------------------------------------

def test_employer_posts_a_slot_after_fixing_the_errors(s: Site) -> None:
    client = s.clients["emp"]
    form = page(s, "emp", "/platser/ny")
    assert 'name="employer_id"' not in form and 'data-suggest="/sok/yrken"' in form
    wrong = post_form(client, "/platser/ny", "/platser/ny",
                      slot_form(end_date="2026-11-01", occupation="drakvaktare"))
    assert wrong.status_code == 422  # every error at once, each next to its field
    assert "Välj ett yrke i listan" in error_next_to(wrong.text, "occupation")
    assert error_next_to(wrong.text, "end_date") == "Slutdatum kan inte vara före startdatum."
    dates = post_form(client, "/platser/ny", "/platser/ny",
                      slot_form(end_date="2026-11-01", occupation="5223 Butikssäljare"))
    assert dates.status_code == 422
    assert error_next_to(dates.text, "end_date") == "Slutdatum kan inte vara före startdatum."
    assert 'value="Butiksbiträde i vår livsmedelsbutik"' in dates.text  # kept what was typed
    zero = post_form(client, "/platser/ny", "/platser/ny", slot_form(capacity="0"))
    assert zero.status_code == 422 and "minst 1" in error_next_to(zero.text, "capacity")
    last = s.session.scalar(select(SlotRow.id).order_by(SlotRow.id.desc()))  # type: ignore[union-attr]
    ok = post_form(client, "/platser/ny", "/platser/ny", slot_form())
    assert ok.status_code == 303
    new_id = int(ok.headers["location"].rsplit("/", 1)[1])
    assert new_id > (last or 0)
    row = s.slot(new_id)
    owner = s.session.get(EmployerRow, s.principals["emp"].employer_id)  # type: ignore[union-attr]
    assert owner is not None and row.employer_id == owner.id
    assert (row.capacity, row.occupation_code, row.kommunkod) == (2, "5223", owner.kommunkod)
    assert row.required_skills and row.supervisor and not row.accessible
    assert "sparad och öppen för förslag" in page(s, "emp", f"/platser/{new_id}")
    assert f'href="/platser/{new_id}"' in page(s, "emp", "/mina-platser")


def test_consultant_registers_a_slot_for_an_employer(s: Site) -> None:
    client = s.clients["cons"]
    form = page(s, "cons", "/platser/ny")
    assert '<select id="employer_id" name="employer_id"' in form
    assert form.count("<option value=") > 50  # every employer of the world
    missing = post_form(client, "/platser/ny", "/platser/ny", slot_form(kommun="Solna"))
    assert missing.status_code == 422
    assert "Välj vilken arbetsgivare" in error_next_to(missing.text, "employer_id")
    owner = s.principals["emp_b"].employer_id
    ok = post_form(client, f"/platser/ny?arbetsgivare={owner}", "/platser/ny",
                   slot_form(employer_id=owner, kommun="0184 Solna"))
    assert ok.status_code == 303
    row = s.slot(int(ok.headers["location"].rsplit("/", 1)[1]))
    assert row.employer_id == owner and row.kommunkod == "0184"


def test_edit_keeps_taken_places(s: Site) -> None:
    cons = s.ctx("cons")
    slot = slots.create(cons, SlotData(employer_id=s.principals["emp"].employer_id,
                                       title="Köksbiträde", occupation_code="9412",
                                       kommunkod="0180", capacity=2))
    for i in range(2):
        person = participants.create(cons, ParticipantData(
            unit_id=s.unit_id, display_name=f"Test Person {i}", kommunkod="0180",
            swedish_level="D", wished_occupations=["9412"]))
        made = placements.propose(cons, person.id, slot.id)
        placements.transition(cons, made.row.id, Action.accept)
    s.session.commit()  # type: ignore[union-attr]
    url = f"/platser/{slot.id}/redigera"
    form = page(s, "emp", url)
    assert 'value="Köksbiträde"' in form and 'value="9412 ' in form
    data = slot_form(title="Köksbiträde", occupation="9412", capacity="1", kommun="0180")
    r = post_form(s.clients["emp"], url, url, data)
    assert r.status_code == 409
    assert "2 upptagna platser" in error_next_to(r.text, "capacity")
    assert s.slot(slot.id).capacity == 2 and s.slot(slot.id).title == "Köksbiträde"
    r = post_form(s.clients["emp"], url, url, {**data, "capacity": "3",
                                               "title": "Köksbiträde i skolköket"})
    assert r.status_code == 303 and r.headers["location"] == f"/platser/{slot.id}"
    row = s.slot(slot.id)
    assert (row.capacity, row.title, row.hours_per_week) == (3, "Köksbiträde i skolköket", 30)
    assert "1 av 3 lediga" in page(s, "emp", f"/platser/{slot.id}")


def test_edit_form_without_csrf_changes_nothing(s: Site) -> None:
    url = f"/platser/{s.slot_id}/redigera"
    before = s.slot(s.slot_id).title
    r = s.clients["cons"].post(url, data=slot_form(title="Kapad"))
    assert r.status_code == 403 and s.slot(s.slot_id).title == before
    page(s, "cons", url)
    assert csrf_of(page(s, "cons", url))
