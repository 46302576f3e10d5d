"""The pages' foundation: login with a session cookie, CSRF, expiry, security headers, error
pages, and the participant pages a consultant starts from. TestClient only (the browser tests
are in tests/slow/browser)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.domain.vocab import Role
from matchning.services import users
from matchning.services.context import Context
from matchning.services.login_guard import LoginGuard
from matchning.storage.db import make_session_factory, unit_of_work
from matchning.storage.tables import ParticipantRow
from matchning.web import session as web_session
from tests.conftest import backend_engine
from tests.factories import World
from tests.helpers_api import quick_user
from tests.helpers_pages import csrf_of, login, post_form

PASSWORD = "vinter-snö-på-taket-3"


@dataclass
class Site:
    client: TestClient
    factory: sessionmaker
    settings: Settings
    unit_id: int
    participant_id: int
    emails: dict[str, str]
    user_ids: dict[str, int]

    def login_as(self, who: str) -> None:
        self.client.cookies.clear()
        r = login(self.client, self.emails[who], PASSWORD)
        assert r.status_code == 303, r.text

    def count_participants(self) -> int:
        with self.factory() as s:
            return s.scalar(select(func.count()).select_from(ParticipantRow))

    def participant(self) -> ParticipantRow:
        with self.factory() as s:
            row = s.get(ParticipantRow, self.participant_id)
            assert row is not None
            s.expunge(row)
            return row


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("pages")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key-pages")
    with backend_engine(request, tmp) as engine:
        factory = make_session_factory(engine)
        world = World(factory, settings)
        unit = world.unit(name="Arbetsmarknadsenheten Solna", kommuner=["0184"])
        employer = world.employer(name="Bageriet i Solna AB", kommunkod="0184")
        emails = {"cons": "karin@ame.example.se", "emp": "olle@bageriet.example.se",
                  "cons2": "per@ame.example.se"}
        ids = {"cons": world.user(Role.consultant, unit_id=unit, email=emails["cons"],
                                  password=PASSWORD).user_id,
               "emp": world.user(Role.employer, employer_id=employer, email=emails["emp"],
                                 password=PASSWORD).user_id,
               "cons2": world.user(Role.consultant, unit_id=unit, email=emails["cons2"],
                                   password=PASSWORD).user_id}
        quick_user(world, Role.system_admin)
        pid = world.participant(unit, display_name="Åsa Öberg", kommunkod="0184",
                                consultant_id=ids["cons"])
        with TestClient(create_app(settings=settings, engine=engine)) as client:
            yield Site(client, factory, settings, unit, pid, emails, ids)


@pytest.fixture
def s(site: Site) -> Site:
    site.client.cookies.clear()
    return site


# --- the login page and the session ----------------------------------------------------------

def test_login_page_is_swedish_utf8_with_security_headers(s: Site) -> None:
    r = s.client.get("/logga-in")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="sv">' in r.text and '<meta charset="utf-8">' in r.text
    assert '<label for="email">E-postadress' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    # The JSON API keeps its own headers (the Swagger page needs its CDN).
    assert "content-security-policy" not in s.client.get("/health").headers


def test_wrong_password_is_refused_and_no_session_begins(s: Site) -> None:
    r = login(s.client, s.emails["cons"], "fel-lösenord-123")
    assert r.status_code == 401
    assert "Fel e-postadress eller lösenord." in r.text
    assert s.client.get("/deltagare", follow_redirects=False).status_code == 303


def test_login_without_csrf_token_is_refused(s: Site) -> None:
    r = s.client.post("/logga-in", data={"email": s.emails["cons"], "password": PASSWORD},
                      follow_redirects=False)
    assert r.status_code == 403
    assert "Ladda om sidan" in r.text


def test_login_lands_by_role_and_cookie_is_httponly_lax(s: Site) -> None:
    r = login(s.client, s.emails["cons"], PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert s.client.get("/", follow_redirects=False).headers["location"] == "/deltagare?mina=1"
    s.login_as("emp")
    assert s.client.get("/", follow_redirects=False).headers["location"] == "/mina-platser"


def test_anonymous_is_sent_to_login_and_back(s: Site) -> None:
    r = s.client.get(f"/deltagare/{s.participant_id}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/logga-in?nasta=%2Fdeltagare%2F{s.participant_id}"
    page = s.client.get(r.headers["location"])
    assert f'name="next" value="/deltagare/{s.participant_id}"' in page.text
    r = s.client.post("/logga-in", data={"email": s.emails["cons"], "password": PASSWORD,
                                         "next": f"/deltagare/{s.participant_id}",
                                         "csrf_token": csrf_of(page.text)},
                      follow_redirects=False)
    assert r.headers["location"] == f"/deltagare/{s.participant_id}"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "javascript:1"])
def test_login_never_redirects_off_site(s: Site, target: str) -> None:
    page = s.client.get("/logga-in")
    r = s.client.post("/logga-in", data={"email": s.emails["cons"], "password": PASSWORD,
                                         "next": target, "csrf_token": csrf_of(page.text)},
                      follow_redirects=False)
    assert r.headers["location"] == "/"


def test_logout_ends_the_session(s: Site) -> None:
    s.login_as("cons")
    r = post_form(s.client, "/deltagare", "/logga-ut", {})
    assert r.status_code == 303 and r.headers["location"] == "/logga-in"
    assert s.client.get("/deltagare", follow_redirects=False).status_code == 303


def test_session_expires(s: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    s.login_as("cons")
    assert s.client.get("/deltagare").status_code == 200
    later = time.time() + s.settings.session_hours * 3600 + 60
    monkeypatch.setattr(web_session.time, "time", lambda: later)
    assert s.client.get("/deltagare", follow_redirects=False).status_code == 303


def test_tampered_cookie_counts_as_anonymous(s: Site) -> None:
    s.login_as("cons")
    value = s.client.cookies["matchning_session"]
    s.client.cookies.set("matchning_session", value[:-4] + "AAAA")
    assert s.client.get("/deltagare", follow_redirects=False).status_code == 303


def _as_system(site: Site, fn: Any) -> Any:
    with unit_of_work(site.factory) as session:
        return fn(Context(session=session, principal=SYSTEM, settings=site.settings))


def test_deactivated_user_loses_the_page_session(s: Site) -> None:
    s.login_as("cons2")
    assert s.client.get("/deltagare").status_code == 200
    _as_system(s, lambda ctx: users.update(ctx, s.user_ids["cons2"], active=False))
    try:
        assert s.client.get("/deltagare", follow_redirects=False).status_code == 303
        assert login(s.client, s.emails["cons2"], PASSWORD).status_code == 401
    finally:
        _as_system(s, lambda ctx: users.update(ctx, s.user_ids["cons2"], active=True))


def test_password_change_checks_and_ends_other_sessions(s: Site) -> None:
    s.login_as("cons2")
    first = dict(s.client.cookies)
    s.login_as("cons2")
    r = post_form(s.client, "/konto/losenord", "/konto/losenord",
                  {"current": "inte-rätt-lösen", "new": "nytt-lösen-1234",
                   "again": "nytt-lösen-1234"})
    assert r.status_code == 422 and "Nuvarande lösenord stämmer inte." in r.text
    r = post_form(s.client, "/konto/losenord", "/konto/losenord",
                  {"current": PASSWORD, "new": "kort", "again": "kort"})
    assert r.status_code == 422 and "minst 10 tecken" in r.text
    r = post_form(s.client, "/konto/losenord", "/konto/losenord",
                  {"current": PASSWORD, "new": "nytt-lösen-1234", "again": "annat-lösen-1234"})
    assert r.status_code == 422 and "Lösenorden är inte likadana." in r.text
    r = post_form(s.client, "/konto/losenord", "/konto/losenord",
                  {"current": PASSWORD, "new": "nytt-lösen-1234", "again": "nytt-lösen-1234"})
    assert r.status_code == 303
    try:
        assert s.client.get("/deltagare").status_code == 200  # this session goes on
        s.client.cookies.clear()
        s.client.cookies.update(first)
        assert s.client.get("/deltagare", follow_redirects=False).status_code == 303
    finally:
        _as_system(s, lambda ctx: users.update(ctx, s.user_ids["cons2"], password=PASSWORD))


# --- error pages ---------------------------------------------------------------------------

def test_error_pages_are_swedish_html_while_the_api_stays_json(s: Site) -> None:
    s.login_as("cons")
    r = s.client.get("/deltagare/987654")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Vad kan du göra nu?" in r.text and "Till startsidan" in r.text
    r = s.client.get("/deltagare/inte-ett-tal")
    assert r.status_code == 422 and "Uppgifterna stämmer inte" in r.text
    r = s.client.get("/adressen-finns-inte")
    assert r.status_code == 404 and "Sidan finns inte" in r.text
    api = s.client.get("/api/v1/participants/987654")
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthenticated"


def test_employer_gets_the_403_page_for_participants(s: Site) -> None:
    s.login_as("emp")
    for url in ("/deltagare", f"/deltagare/{s.participant_id}", "/deltagare/ny"):
        r = s.client.get(url)
        assert r.status_code in (403, 404), url
        assert "Åsa Öberg" not in r.text
    r = s.client.get(f"/deltagare/{s.participant_id}")
    assert r.status_code == 403 and "Du har inte behörighet" in r.text


# --- participant pages ------------------------------------------------------------------------

def test_caseload_lists_search_and_filter(s: Site) -> None:
    s.login_as("cons")
    r = s.client.get("/deltagare?mina=1")
    assert r.status_code == 200 and "Mina deltagare" in r.text and "Åsa Öberg" in r.text
    assert "Åsa Öberg" in s.client.get("/deltagare?q=%C3%96berg").text
    assert "Åsa Öberg" not in s.client.get("/deltagare?q=Svensson").text
    assert "Åsa Öberg" not in s.client.get("/deltagare?status=avslutad").text
    # An unknown filter value is ignored, not an error.
    assert s.client.get("/deltagare?status=okänd&malgrupp=x").status_code == 200


def test_register_participant_with_errors_then_fixed(s: Site) -> None:
    s.login_as("cons")
    before = s.count_participants()
    r = post_form(s.client, "/deltagare/ny", "/deltagare/ny",
                  {"display_name": "", "kommun": "Solna", "wished_1": "ingen sådan titel xyz",
                   "swedish_level": "C"})
    assert r.status_code == 422
    assert 'id="wished_1-fel"' in r.text and "Välj ett yrke i listan" in r.text
    assert s.count_participants() == before
    r = post_form(s.client, "/deltagare/ny", "/deltagare/ny",
                  {"display_name": "", "kommun": "Solna", "wished_1": "Kocksteward",
                   "swedish_level": "C"})
    assert r.status_code == 422 and 'id="display_name-fel"' in r.text
    assert 'aria-invalid="true"' in r.text
    assert s.count_participants() == before
    r = post_form(s.client, "/deltagare/ny", "/deltagare/ny",
                  {"display_name": "Bo Ek", "kommun": "Solna", "wished_1": "Kocksteward",
                   "swedish_level": "C", "skills": "kassahantering, truckkort",
                   "driving_licences": ["B"], "needs_supervisor": "on"})
    assert r.status_code == 303
    new_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = s.client.get(f"/deltagare/{new_id}").text
    assert "Bo Ek" in page and "Kockar och kallskänkor (5120)" in page
    assert s.count_participants() == before + 1


def test_edit_profile_and_status(s: Site) -> None:
    s.login_as("cons")
    url = f"/deltagare/{s.participant_id}/redigera"
    form = s.client.get(url).text
    assert 'value="0184 Solna"' in form
    r = post_form(s.client, url, url, {"display_name": "Åsa Öberg", "kommun": "0184",
                                       "swedish_level": "B", "max_commute_km": "600"})
    assert r.status_code == 422 and 'id="max_commute_km-fel"' in r.text
    assert s.participant().max_commute_km == 30
    r = post_form(s.client, url, url, {"display_name": "Åsa Öberg", "kommun": "0184",
                                       "swedish_level": "B", "max_commute_km": "25"})
    assert r.status_code == 303
    assert s.participant().max_commute_km == 25 and s.participant().swedish_level == "B"
    detail = f"/deltagare/{s.participant_id}"
    r = post_form(s.client, detail, f"{detail}/status", {"status": "avslutad"})
    assert r.status_code == 422 and "utfall" in r.text
    assert s.participant().status == "väntande"
    r = post_form(s.client, detail, f"{detail}/status",
                  {"status": "avslutad", "exit_outcome": "arbete", "exit_date": "2026-10-30"})
    assert r.status_code == 303
    row = s.participant()
    assert (row.status, row.exit_outcome, str(row.exit_date)) == ("avslutad", "arbete",
                                                                   "2026-10-30")
    r = post_form(s.client, detail, f"{detail}/status", {"status": "väntande"})
    assert r.status_code == 303 and s.participant().exit_outcome is None


def test_autocompletion_needs_a_login_and_finds_titles(s: Site) -> None:
    assert s.client.get("/sok/yrken?q=kock", follow_redirects=False).status_code == 303
    s.login_as("cons")
    values = [i["value"] for i in s.client.get("/sok/yrken?q=kocksteward").json()]
    assert values and values[0].startswith("5120 Kocksteward")
    assert s.client.get("/sok/kommuner?q=Soln").json()[0]["value"] == "0184 Solna"
    assert s.client.get("/sok/yrken?q=").status_code == 422


def test_failed_logins_are_limited_on_the_page_and_the_api(s: Site) -> None:
    app = s.client.app
    saved = app.state.login_guard  # type: ignore[attr-defined]
    app.state.login_guard = LoginGuard(  # type: ignore[attr-defined]
        Settings(environment="test", login_rate_limit="2 per 5 minutes"))
    try:
        for _ in range(2):
            assert login(s.client, s.emails["cons"], "fel-lösenord-123").status_code == 401
        # Past the limit even the right password waits.
        r = login(s.client, s.emails["cons"], PASSWORD)
        assert r.status_code == 429 and "För många misslyckade inloggningsförsök" in r.text
        api = s.client.post("/api/v1/auth/token",
                            json={"email": s.emails["cons"], "password": PASSWORD})
        assert api.status_code == 429
        assert api.json()["error"]["code"] == "too_many_attempts"
    finally:
        app.state.login_guard = saved  # type: ignore[attr-defined]


def test_erase_from_the_participant_page(s: Site) -> None:
    s.login_as("cons")
    r = post_form(s.client, "/deltagare/ny", "/deltagare/ny",
                  {"display_name": "Radera Mig", "kommun": "0184", "swedish_level": "C"})
    pid = int(r.headers["location"].rsplit("/", 1)[1])
    r = s.client.post(f"/deltagare/{pid}/radera", follow_redirects=False)
    assert r.status_code == 403  # no CSRF token
    assert s.client.get(f"/deltagare/{pid}").status_code == 200
    r = post_form(s.client, f"/deltagare/{pid}", f"/deltagare/{pid}/radera", {})
    assert r.status_code == 303
    assert s.client.get(f"/deltagare/{pid}").status_code == 404
    assert "Radera Mig" not in s.client.get("/deltagare").text


def test_audit_page_for_admins_only(s: Site) -> None:
    s.login_as("cons")
    assert s.client.get("/enhet/logg").status_code == 403
    s.client.cookies.clear()
    with unit_of_work(s.factory) as session:
        users.create(Context(session=session, principal=SYSTEM, settings=s.settings),
                     users.UserData(email="admin@ame.example.se", role=Role.unit_admin,
                                    unit_id=s.unit_id, password=PASSWORD))
    r = login(s.client, "admin@ame.example.se", PASSWORD)
    assert r.status_code == 303
    s.client.get(f"/deltagare/{s.participant_id}")  # a read to find
    page = s.client.get(f"/enhet/logg?deltagare={s.participant_id}")
    assert page.status_code == 200 and "Läste profil" in page.text
    bad = s.client.get("/enhet/logg?fran=2026-13-01&anvandare=x")
    assert bad.status_code == 422 and "ÅÅÅÅ-MM-DD" in bad.text and "bara siffror" in bad.text
    r = s.client.get("/enhet/logg?fran=2026-11-02&till=2026-11-01")
    assert r.status_code == 422 and "Från-datumet ligger efter" in r.text
