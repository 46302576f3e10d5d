"""Who may open which page and post which form, as a hand-written table like the API's
(tests/test_api_scoping.py, whose world this reuses): (method, page, subject) x role -> status.

Every page route needs a row: a test walks the app's routes outside /api and fails when one
has none. Every role posts with its session's CSRF token (the anonymous caller with the login
page's), so what is checked is the access rule, not the token: the anonymous caller is sent to
the login page (303). Forms are posted empty or minimal: an allowed role meets the form's own
4xx (422) or succeeds (303), a refused one the 403/404 page. Each case runs in a transaction
that is rolled back.

Statuses: 200 page, 303 redirect (to /logga-in for anonymous; after a successful form
otherwise), 403 not allowed, 404 not found or not yours to know, 409 conflict, 422 invalid form,
503 no trained model (the suggestions, after the access check).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.services import users
from matchning.services.context import Context
from matchning.storage.db import make_session_factory, unit_of_work
from tests.conftest import backend_engine
from tests.factories import World
from tests.helpers_pages import csrf_of, login
from tests.test_api_scoping import ROLES, Scene, _build

PASSWORD = "sidor-för-alla-roller-1"


@dataclass(frozen=True)
class Page:
    method: str
    route: str
    expect: tuple[int, ...]
    bind: tuple[tuple[str, str], ...] = ()
    data: tuple[tuple[str, str], ...] = ()
    query: str = ""

    @property
    def label(self) -> str:
        subject = ",".join(v for _, v in self.bind)
        return f"{self.method} {self.route}{'?' + self.query if self.query else ''}" \
               f"{' ' + subject if subject else ''}"


def page(method: str, route: str, expect: str, query: str = "",
         data: dict[str, str] | None = None, **bind: str) -> Page:
    codes = tuple(int(c) for c in expect.split())
    assert len(codes) == len(ROLES), f"{method} {route}: {len(codes)} statuses"
    return Page(method, route, codes, tuple(bind.items()), tuple((data or {}).items()), query)


# --- the table -------------------------------------------------------------------------------
#                                                      anon cA  cB  eOwn eOth aA  aB  sys
TABLE: list[Page] = [
    page("GET", "/logga-in", "200 303 303 303 303 303 303 303"),
    page("POST", "/logga-in", "401 401 401 401 401 401 401 401",
         data={"email": "ingen@example.se", "password": "fel-lösen-123"}),
    page("POST", "/logga-ut", "303 303 303 303 303 303 303 303"),
    page("GET", "/", "303 303 303 303 303 303 303 303"),
    page("GET", "/konto/losenord", "303 200 200 200 200 200 200 200"),
    page("POST", "/konto/losenord", "303 422 422 422 422 422 422 422"),
    page("GET", "/sok/yrken", "303 200 200 200 200 200 200 200", query="q=kock"),
    page("GET", "/sok/kommuner", "303 200 200 200 200 200 200 200", query="q=solna"),

    # Participants: the unit's staff; a system admin reads but registers nothing here.
    page("GET", "/deltagare", "303 200 200 403 403 200 200 200"),
    page("GET", "/deltagare/ny", "303 200 200 403 403 200 200 403"),
    page("POST", "/deltagare/ny", "303 422 422 403 403 422 422 403"),
    page("GET", "/deltagare/{participant_id}", "303 200 404 403 403 200 404 200",
         participant_id="participant_a"),
    page("GET", "/deltagare/{participant_id}/redigera", "303 200 404 403 403 200 404 200",
         participant_id="participant_a"),
    page("POST", "/deltagare/{participant_id}/redigera", "303 422 404 403 403 422 404 422",
         participant_id="participant_a", data={"display_name": ""}),
    page("POST", "/deltagare/{participant_id}/status", "303 303 404 403 403 303 404 303",
         participant_id="participant_a", data={"status": "pausad"}),
    page("POST", "/deltagare/{participant_id}/radera", "303 409 404 403 403 409 404 403",
         participant_id="participant_a"),
    page("POST", "/deltagare/{participant_id}/radera", "303 303 404 403 403 303 404 403",
         participant_id="p_done"),

    # Suggestions: the participant's unit (503 here: no model, after the access check).
    page("GET", "/deltagare/{participant_id}/forslag", "303 503 404 403 403 503 404 403",
         participant_id="participant_a"),
    # A refused proposal or reason re-renders the suggestions, which need a model: 503 here.
    page("POST", "/deltagare/{participant_id}/forslag/foresla",
         "303 503 404 403 403 503 404 403", participant_id="participant_a",
         data={"slot_id": "{slot_e1}"}),
    page("POST", "/deltagare/{participant_id}/forslag/passar-inte",
         "303 503 404 403 403 503 404 403", participant_id="participant_a",
         data={"slot_id": "{slot_e1}"}),

    # The unit's allocation plan: its staff (unit B sees its own, empty); making one needs a
    # model (503 after the access check); an override without a reason is refused (422).
    page("GET", "/enhet/fordelning", "303 200 200 403 403 200 200 403"),
    page("POST", "/enhet/fordelning", "303 503 503 403 403 503 503 403",
         data={"method": "exact"}),
    page("POST", "/enhet/fordelning/{plan_id}/{participant_id}/godta",
         "303 303 404 403 403 303 404 403", plan_id="plan_a", participant_id="participant_a"),
    page("POST", "/enhet/fordelning/{plan_id}/{participant_id}/asidosatt",
         "303 422 404 403 403 422 404 403", plan_id="plan_a", participant_id="participant_a"),
    page("POST", "/enhet/fordelning/{plan_id}/{participant_id}/asidosatt",
         "303 303 404 403 403 303 404 403", plan_id="plan_a", participant_id="participant_a",
         data={"reason": "Deltagaren har fått jobb själv."}),

    # The placement board: each sees its own scope; employers their own slots'.
    page("GET", "/placeringar", "303 200 200 200 200 200 200 200"),
    # An employer's board filtered by a participant shows only its own slots' placements.
    page("GET", "/placeringar", "303 200 404 200 200 200 404 200",
         query="deltagare={participant_a}"),
    page("GET", "/placeringar", "303 200 200 200 403 200 200 200", query="plats={slot_e1}"),
    page("POST", "/placeringar/{placement_id}/{slug}", "303 303 404 303 404 303 404 403",
         placement_id="pl_proposed", slug="acceptera"),
    page("POST", "/placeringar/{placement_id}/{slug}", "303 303 404 403 404 303 404 403",
         placement_id="pl_proposed", slug="aterta"),
    page("POST", "/placeringar/{placement_id}/{slug}", "303 303 404 303 404 303 404 403",
         placement_id="pl_started", slug="avsluta"),
    page("POST", "/placeringar/{placement_id}/utfall", "303 303 404 403 404 303 404 403",
         placement_id="pl_completed", data={"outcome": "arbete"}),

    # Slots: staff see all; an employer its own (and the list sends it to /mina-platser).
    page("GET", "/platser", "303 200 200 303 303 200 200 200"),
    page("GET", "/platser/ny", "303 200 200 200 200 200 200 200"),
    page("POST", "/platser/ny", "303 422 422 422 422 422 422 422"),
    page("GET", "/platser/{slot_id}", "303 200 200 200 403 200 200 200", slot_id="slot_e1"),
    page("GET", "/platser/{slot_id}/redigera", "303 200 200 200 403 200 200 200",
         slot_id="slot_e1"),
    page("POST", "/platser/{slot_id}/redigera", "303 422 422 422 403 422 422 422",
         slot_id="slot_e1", data={"title": ""}),
    page("POST", "/platser/{slot_id}/status", "303 303 303 303 403 303 303 303",
         slot_id="slot_e1", data={"status": "paused"}),
    page("POST", "/platser/{slot_id}/foresla", "303 303 404 403 403 303 404 403",
         slot_id="slot_e1", data={"participant_id": "{p_done}"}),
    page("GET", "/mina-platser", "303 403 403 200 200 403 403 403"),

    # Unit administration: the unit's admin; the system admin everywhere.
    page("GET", "/enhet/anvandare", "303 403 403 403 403 200 200 200"),
    page("GET", "/enhet/anvandare/ny", "303 403 403 403 403 200 200 200"),
    page("POST", "/enhet/anvandare/ny", "303 403 403 403 403 422 422 422"),
    page("GET", "/enhet/anvandare/{user_id}", "303 403 403 403 403 200 404 200",
         user_id="cons_a2"),
    page("POST", "/enhet/anvandare/{user_id}/aktiv", "303 403 403 403 403 303 404 303",
         user_id="cons_a2", data={"active": "nej"}),
    # A generated password is shown once, on the page that answers the form.
    page("POST", "/enhet/anvandare/{user_id}/losenord", "303 403 403 403 403 200 404 200",
         user_id="cons_a2", data={"generate": "ja"}),
    page("POST", "/enhet/anvandare/{user_id}/token", "303 403 403 403 403 200 404 200",
         user_id="cons_a2", data={"name": "skript", "days": "30"}),
    page("POST", "/enhet/anvandare/{user_id}/token/{token_id}/aterkalla",
         "303 403 403 403 403 303 404 303", user_id="cons_a2", token_id="token_cons_a2"),
    page("GET", "/enhet/installningar", "303 403 403 403 403 200 200 200"),
    page("POST", "/enhet/installningar", "303 403 403 403 403 422 422 422"),
    page("GET", "/enhet/logg", "303 403 403 403 403 200 200 200"),
    # Results and slot gaps: the unit's staff; a system admin chooses the unit.
    page("GET", "/enhet/resultat", "303 200 200 403 403 200 200 200"),
    page("GET", "/enhet/resultat", "303 200 404 403 403 200 404 200", query="enhet={unit_a}"),
    page("GET", "/enhet/resultat/avslut.png", "303 200 404 403 403 200 404 200",
         query="enhet={unit_a}"),
    page("GET", "/enhet/resultat/placeringar.png", "303 200 404 403 403 200 404 200",
         query="enhet={unit_a}"),
    page("GET", "/enhet/resultat/vantetid.png", "303 200 404 403 403 200 404 200",
         query="enhet={unit_a}"),
    page("GET", "/enhet/resultat/export.csv", "303 200 404 403 403 200 404 200",
         query="enhet={unit_a}"),
    page("GET", "/enhet/platsluckor", "303 200 200 403 403 200 200 200"),
    page("GET", "/enhet/platsluckor", "303 200 404 403 403 200 404 200", query="enhet={unit_a}"),
    page("GET", "/enhet/rattvisa", "303 403 403 403 403 200 200 200"),

    # Models and retraining: system admins only.
    page("GET", "/admin/modeller", "303 403 403 403 403 403 403 200"),
    page("GET", "/admin/modeller/diagram.png", "303 403 403 403 403 403 403 200"),
    page("GET", "/admin/modeller/{version}", "303 403 403 403 403 403 403 200",
         version="saved_version"),
    page("POST", "/admin/modeller/{version}/aktivera", "303 403 403 403 403 403 403 303",
         version="saved_version"),
    page("POST", "/admin/modeller/aterga", "303 403 403 403 403 403 403 409"),
    page("GET", "/admin/jobb/{run_id}", "303 403 403 403 403 403 403 200", run_id="job_failed"),
    page("GET", "/admin/korningar", "303 403 403 403 403 403 403 200"),
]
# Not in the table: POST /admin/omtraning starts a background retrain on committed data; its
# access is tested in tests/test_pages_admin.py.
SKIPPED = {("POST", "/admin/omtraning")}


@dataclass
class Sessions:
    scene: Scene
    cookies: dict[str, dict[str, str]]
    csrf: dict[str, str]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def sessions(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             own_retrain_lock_key: None) -> Iterator[Sessions]:
    tmp = tmp_path_factory.mktemp("pagescoping")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        factory = make_session_factory(engine)
        world = World(factory, settings)
        with TestClient(create_app(settings=settings, engine=engine)) as client:
            scene = _build(client, world, engine)
            with unit_of_work(factory) as session:
                ctx = Context(session=session, principal=SYSTEM, settings=settings)
                for actor in scene.actors.values():
                    users.update(ctx, actor.user_id, password=PASSWORD)
            cookies: dict[str, dict[str, str]] = {}
            csrf: dict[str, str] = {}
            for role in ROLES:
                client.cookies.clear()
                if role == "anon":
                    csrf[role] = csrf_of(client.get("/logga-in").text)
                else:
                    email = users.principal_of(_user(factory, scene.actors[role].user_id)).email
                    assert login(client, email, PASSWORD).status_code == 303
                    csrf[role] = csrf_of(client.get("/konto/losenord").text)
                cookies[role] = dict(client.cookies)
            client.cookies.clear()
            yield Sessions(scene, cookies, csrf)


def _user(factory, user_id: int):
    from matchning.storage.tables import UserRow

    with factory() as session:
        row = session.get(UserRow, user_id)
        session.expunge(row)
        return row


CASES = [pytest.param(p, role, expected, id=f"{p.label}-{role}")
         for p in TABLE for role, expected in zip(ROLES, p.expect, strict=True)]


@pytest.mark.parametrize(("case", "role", "expected"), CASES)
def test_page_scoping(sessions: Sessions, case: Page, role: str, expected: int) -> None:
    scene = sessions.scene
    client = scene.client
    params = {name: scene.resolve(role, value) for name, value in case.bind}
    url = case.route.format(**params)
    if case.query:
        url += "?" + case.query.format(**scene.ids)
    data: dict[str, Any] = {k: v.format(**scene.ids) for k, v in case.data}
    if case.method == "POST":
        data["csrf_token"] = sessions.csrf[role]
    client.cookies.clear()
    client.cookies.update(sessions.cookies[role])
    with scene.isolated():
        r = client.request(case.method, url, data=data or None, follow_redirects=False)
    assert r.status_code == expected, f"{case.label} as {role}: {r.status_code}\n{r.text[:600]}"
    if expected == 303 and role == "anon":
        assert r.headers["location"].startswith("/logga-in"), r.headers["location"]
    if expected in (403, 404) and case.method == "GET":
        assert "Vad kan du göra nu?" in r.text  # the friendly page, not a bare status


def _page_routes() -> set[tuple[str, str]]:
    app = create_app(settings=Settings(environment="test"))
    try:  # FastAPI >= 0.165 keeps included routers lazy; this walks them with full paths.
        from fastapi.routing import iter_route_contexts
        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:
        from fastapi.routing import APIRoute
        routes = [r for r in app.routes if isinstance(r, APIRoute)]
    found = {(method, route.path) for route in routes
             if getattr(route, "methods", None) and not route.path.startswith(
                 ("/api/", "/health", "/ready", "/docs", "/openapi", "/redoc", "/static"))
             for method in route.methods - {"HEAD", "OPTIONS"}}
    assert len(found) > 40, f"route discovery found too little: {found}"
    return found


def test_every_page_route_has_a_row() -> None:
    covered = {(p.method, p.route) for p in TABLE} | SKIPPED
    missing = _page_routes() - covered
    assert not missing, f"page routes without a row in the table: {sorted(missing)}"


def test_every_row_names_a_real_page_route() -> None:
    stale = {(p.method, p.route) for p in TABLE} - _page_routes()
    assert not stale, f"rows for page routes that do not exist: {sorted(stale)}"
