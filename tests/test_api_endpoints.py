"""Every endpoint of the JSON API: the happy path and its validation errors.

Each failing write is followed by a read that shows nothing changed. Scoping between roles and
units is in test_api_scoping.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from matchning.domain.vocab import Role
from matchning.storage.repositories import audit
from matchning.storage.tables import ApiTokenRow
from tests.factories import Actor, World
from tests.helpers_api import (
    API,
    VALID_PNR,
    assert_error,
    detail_for,
    employer_body,
    keys_deep,
    participant_body,
    quick_user,
    slot_body,
)


def utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass
class Env:
    world: World
    unit: int
    consultant: Actor
    colleague: Actor
    unit_admin: Actor
    sysadmin: Actor
    employer: int
    employer_user: Actor


@pytest.fixture
def env(world: World) -> Env:
    unit = world.unit(name="Arbetsmarknadsenheten Stockholm–Solna", kommuner=["0180", "0184"])
    employer = world.employer(name="Coop Logistik Solna AB", kommunkod="0184")
    return Env(
        world=world, unit=unit,
        consultant=quick_user(world, Role.consultant, unit_id=unit,
                              email="karin.akesson@ame.example.se"),
        colleague=quick_user(world, Role.consultant, unit_id=unit,
                             email="jorgen.lof@ame.example.se"),
        unit_admin=quick_user(world, Role.unit_admin, unit_id=unit),
        sysadmin=quick_user(world, Role.system_admin),
        employer=employer,
        employer_user=quick_user(world, Role.employer, employer_id=employer),
    )


def get_json(client, url: str, actor: Actor) -> dict[str, Any]:
    r = client.get(API + url, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


# --- health, docs ------------------------------------------------------------------------

def test_health_ready_docs_openapi_need_no_token(client) -> None:
    assert client.get("/health").json()["status"] == "ok"
    r = client.get("/ready")
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "matchning"
    assert f"{API}/participants/{{participant_id}}" in spec["paths"]


# --- generic request handling -------------------------------------------------------------

def test_missing_or_bad_token_is_401_with_error_shape(client) -> None:
    r = client.get(f"{API}/units")
    err = assert_error(r, 401, code="unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    assert "logga in" in err["message"]
    assert_error(client.get(f"{API}/units", headers={"Authorization": "Bearer mt_pahittad"}),
                 401)
    assert_error(client.get(f"{API}/units",
                            headers={"Authorization": "Bearer mt_påhittad".encode()}), 401)
    assert_error(client.get(f"{API}/units", headers={"Authorization": "Basic dXNlcjpwdw=="}),
                 401)


def test_wrong_json_types_name_the_fields(client, env: Env) -> None:
    body = participant_body(display_name=123, max_commute_km="långt", own_car="kanske",
                            wished_occupations="4322")
    r = client.post(f"{API}/participants", json=body, headers=env.consultant.headers)
    err = assert_error(r, 422, code="invalid_input")
    fields = {d["field"] for d in err["details"]}
    assert {"display_name", "max_commute_km", "own_car", "wished_occupations"} <= fields
    assert detail_for(err, "max_commute_km")["message"] == "Ska vara ett tal."
    assert get_json(client, "/participants", env.consultant)["total"] == 0


def test_unknown_fields_are_refused(client, env: Env) -> None:
    r = client.post(f"{API}/employers", json=employer_body(favoritfärg="blå"),
                    headers=env.consultant.headers)
    err = assert_error(r, 422, field="favoritfärg")
    assert detail_for(err, "favoritfärg")["message"] == "Okänt fält."
    assert get_json(client, "/employers", env.consultant)["total"] == 1  # only the fixture's


def test_malformed_json_is_422(client, env: Env) -> None:
    r = client.post(f"{API}/employers", content=b'{"name": "Tr\xc3\xa4', headers={
        **env.consultant.headers, "Content-Type": "application/json"})
    assert_error(r, 422, code="invalid_input")


def test_body_over_the_size_limit_is_413_with_error_shape(client, env: Env, settings) -> None:
    big = "å" * settings.max_body_bytes  # two bytes each in UTF-8
    r = client.post(f"{API}/employers", json=employer_body(name=big),
                    headers=env.consultant.headers)
    err = assert_error(r, 413, code="too_large")
    assert "för stor" in err["message"]
    assert get_json(client, "/employers", env.consultant)["total"] == 1
    # Without Content-Length (chunked upload) the limit holds while reading.
    data = json.dumps(employer_body(name=big)).encode()
    chunks = (data[i:i + 65_536] for i in range(0, len(data), 65_536))
    r = client.post(f"{API}/employers", content=chunks,
                    headers={**env.consultant.headers, "Content-Type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_error(r, 413, code="too_large")
    assert get_json(client, "/employers", env.consultant)["total"] == 1


def test_paging_parameters_are_checked(client, env: Env) -> None:
    assert_error(client.get(f"{API}/slots?limit=0", headers=env.consultant.headers), 422,
                 field="limit")
    assert_error(client.get(f"{API}/slots?limit=501", headers=env.consultant.headers), 422,
                 field="limit")
    assert_error(client.get(f"{API}/slots?offset=-1", headers=env.consultant.headers), 422,
                 field="offset")


# --- units ---------------------------------------------------------------------------------

def test_units_create_list_get_patch(client, env: Env) -> None:
    h = env.sysadmin.headers
    r = client.post(f"{API}/units", json={"name": "Arbetsmarknadsenheten Göteborg",
                                          "kommuner": ["1480"], "external_id": "ame-gbg"},
                    headers=h)
    assert r.status_code == 201, r.text
    unit = r.json()
    assert unit["kommuner"] == ["1480"]
    assert unit["settings"]["rejection_days"] == 90  # defaults filled in
    listed = get_json(client, "/units", env.sysadmin)
    assert listed["total"] == 2 and unit["id"] in [u["id"] for u in listed["items"]]
    assert get_json(client, f"/units/{unit['id']}", env.sysadmin) == unit
    r = client.patch(f"{API}/units/{unit['id']}",
                     json={"name": "AME Göteborg", "kommuner": ["1480", "1401"]}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "AME Göteborg" and r.json()["kommuner"] == ["1480", "1401"]
    # A unit admin changes the settings of its own unit.
    r = client.patch(f"{API}/units/{env.unit}", json={"settings": {"rejection_days": 60}},
                     headers=env.unit_admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["settings"] == {"default_max_commute_km": 30, "rejection_days": 60,
                                    "recent_abort_days": 180, "start_horizon_days": 60,
                                    "reduced_hours_max": 30}


def test_unit_validation_errors_leave_units_untouched(client, env: Env) -> None:
    h = env.sysadmin.headers
    before = get_json(client, f"/units/{env.unit}", env.sysadmin)
    assert_error(client.post(f"{API}/units", json={"name": "Ny enhet", "kommuner": ["9999"]},
                             headers=h), 422, field="kommuner[0]")
    assert_error(client.post(f"{API}/units", json={"name": "Ny enhet", "kommuner": []},
                             headers=h), 422, field="kommuner")
    assert_error(client.post(f"{API}/units", json={"name": "Ny enhet", "kommuner": ["0180"],
                                                   "settings": {"okänd": 1}}, headers=h),
                 422, field="settings")
    assert_error(client.post(f"{API}/units", json={"name": before["name"],
                                                   "kommuner": ["0180"]}, headers=h), 409)
    assert get_json(client, "/units", env.sysadmin)["total"] == 1
    assert_error(client.patch(f"{API}/units/{env.unit}", json={"kommuner": ["0180", "0000"]},
                              headers=h), 422, field="kommuner[1]")
    assert_error(client.patch(f"{API}/units/{env.unit}", json={"name": ""}, headers=h), 422,
                 field="name")
    assert_error(client.patch(f"{API}/units/{env.unit}",
                              json={"settings": {"rejection_days": 30, "hemlig": True}},
                              headers=env.unit_admin.headers), 422, field="settings")
    assert get_json(client, f"/units/{env.unit}", env.sysadmin) == before
    assert_error(client.get(f"{API}/units/999999", headers=h), 404)


# --- users, tokens, auth -------------------------------------------------------------------

def test_users_create_list_get_patch(client, env: Env) -> None:
    h = env.unit_admin.headers
    r = client.post(f"{API}/users", json={"email": "Åke.Nystrom@AME.example.se",
                                          "display_name": "Åke Nyström", "role": "consultant",
                                          "unit_id": env.unit, "password": "långt-lösenord-9"},
                    headers=h)
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["email"] == "åke.nystrom@ame.example.se"
    assert user["active"] is True and user["unit_id"] == env.unit
    assert "password" not in r.text and "password_hash" not in r.text
    listed = get_json(client, "/users?role=consultant", env.unit_admin)
    assert {u["id"] for u in listed["items"]} == {env.consultant.user_id,
                                                  env.colleague.user_id, user["id"]}
    assert get_json(client, f"/users/{user['id']}", env.unit_admin) == user
    r = client.patch(f"{API}/users/{user['id']}", json={"display_name": "Åke Nyström Ek"},
                     headers=h)
    assert r.status_code == 200 and r.json()["display_name"] == "Åke Nyström Ek"
    # Anyone may change their own name.
    r = client.patch(f"{API}/users/{env.consultant.user_id}",
                     json={"display_name": "Karin Åkesson"}, headers=env.consultant.headers)
    assert r.status_code == 200 and r.json()["display_name"] == "Karin Åkesson"


def test_user_validation_errors(client, env: Env) -> None:
    h = env.sysadmin.headers
    base = {"email": "ny@example.se", "display_name": "Ny", "role": "consultant",
            "unit_id": env.unit}
    assert_error(client.post(f"{API}/users", json={**base, "email": "inte-en-adress"},
                             headers=h), 422, field="email")
    assert_error(client.post(f"{API}/users", json={**base, "role": "chef"}, headers=h), 422,
                 field="role")
    assert_error(client.post(f"{API}/users", json={**base, "unit_id": None}, headers=h), 422,
                 field="unit_id")
    assert_error(client.post(f"{API}/users", json={**base, "password": "kort"}, headers=h),
                 422, field="password")
    assert_error(client.post(f"{API}/users", json={**base, "role": "employer",
                                                   "unit_id": None}, headers=h),
                 422, field="employer_id")
    assert_error(client.post(f"{API}/users", json={
        **base, "email": "KARIN.akesson@ame.example.se"}, headers=h), 409)
    assert get_json(client, "/users", env.sysadmin)["total"] == 5
    before = get_json(client, f"/users/{env.colleague.user_id}", env.sysadmin)
    assert_error(client.patch(f"{API}/users/{env.colleague.user_id}",
                              json={"password": "kort"}, headers=h), 422, field="password")
    assert_error(client.patch(f"{API}/users/{env.colleague.user_id}",
                              json={"active": "nej"}, headers=h), 422, field="active")
    assert_error(client.patch(f"{API}/users/{env.colleague.user_id}",
                              json={"role": "system_admin"}, headers=h), 422, field="role")
    assert get_json(client, f"/users/{env.colleague.user_id}", env.sysadmin) == before
    # Nobody deactivates their own account.
    assert_error(client.patch(f"{API}/users/{env.sysadmin.user_id}", json={"active": False},
                              headers=h), 409)
    assert get_json(client, "/auth/me", env.sysadmin)["active"] is True


def test_tokens_issue_list_revoke(client, env: Env) -> None:
    h = env.consultant.headers
    uid = env.consultant.user_id
    r = client.post(f"{API}/users/{uid}/tokens", json={"name": "skript", "ttl_days": 7},
                    headers=h)
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["token"].startswith("mt_") and issued["user_id"] == uid
    expires = datetime.fromisoformat(issued["expires_at"])
    assert timedelta(days=6) < expires - datetime.now(UTC) <= timedelta(days=7)
    new = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get(f"{API}/auth/me", headers=new).json()["id"] == uid
    tokens = client.get(f"{API}/users/{uid}/tokens", headers=h).json()
    assert [t["name"] for t in tokens] == ["test", "skript"]
    assert issued["token"] not in str(tokens) and "token_hash" not in str(tokens)
    r = client.delete(f"{API}/users/{uid}/tokens/{issued['token_id']}", headers=h)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert_error(client.get(f"{API}/auth/me", headers=new), 401, code="unauthenticated")
    assert client.get(f"{API}/auth/me", headers=h).status_code == 200  # the other still works
    assert_error(client.delete(f"{API}/users/{uid}/tokens/999999", headers=h), 404)
    assert_error(client.post(f"{API}/users/{uid}/tokens", json={"ttl_days": 0}, headers=h),
                 422, field="ttl_days")
    assert_error(client.post(f"{API}/users/{uid}/tokens", json={"namn": "x"}, headers=h),
                 422, field="namn")
    assert len(client.get(f"{API}/users/{uid}/tokens", headers=h).json()) == 2


def test_expired_token_is_401(client, env: Env) -> None:
    with env.world.factory() as s, s.begin():
        s.execute(update(ApiTokenRow).where(ApiTokenRow.user_id == env.colleague.user_id)
                  .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert_error(client.get(f"{API}/auth/me", headers=env.colleague.headers), 401)


def test_deactivated_user_is_401(client, env: Env, world: World) -> None:
    worker = world.user(Role.consultant, unit_id=env.unit, email="lisa.strom@ame.example.se",
                        password="sommar-äng-2024")
    assert client.get(f"{API}/auth/me", headers=worker.headers).status_code == 200
    r = client.patch(f"{API}/users/{worker.user_id}", json={"active": False},
                     headers=env.unit_admin.headers)
    assert r.status_code == 200 and r.json()["active"] is False
    assert_error(client.get(f"{API}/auth/me", headers=worker.headers), 401)
    assert_error(client.post(f"{API}/auth/token", json={
        "email": "lisa.strom@ame.example.se", "password": "sommar-äng-2024"}), 401)
    assert_error(client.post(f"{API}/users/{worker.user_id}/tokens", json={},
                             headers=env.unit_admin.headers), 409)
    r = client.patch(f"{API}/users/{worker.user_id}", json={"active": True},
                     headers=env.unit_admin.headers)
    assert client.get(f"{API}/auth/me", headers=worker.headers).status_code == 200


def test_login_and_me(client, world: World, env: Env) -> None:
    world.user(Role.consultant, unit_id=env.unit, email="mats.sjoberg@ame.example.se",
               password="vinter-fjäll-2025")
    r = client.post(f"{API}/auth/token", json={"email": "Mats.Sjoberg@ame.example.se",
                                               "password": "vinter-fjäll-2025"})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    me = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["email"] == "mats.sjoberg@ame.example.se" and me["role"] == "consultant"
    assert me["unit_id"] == env.unit
    for body in ({"email": "mats.sjoberg@ame.example.se", "password": "fel-lösenord"},
                 {"email": "ingen@ame.example.se", "password": "vinter-fjäll-2025"}):
        err = assert_error(client.post(f"{API}/auth/token", json=body), 401)
        assert err["message"] == "Fel e-postadress eller lösenord."
    assert_error(client.post(f"{API}/auth/token", json={"email": "mats.sjoberg@ame.example.se"}),
                 422, field="password")
    # A user without a password cannot log in with an empty one.
    assert_error(client.post(f"{API}/auth/token", json={"email": "karin.akesson@ame.example.se",
                                                        "password": ""}), 401)


# --- employers -----------------------------------------------------------------------------

def test_employers_create_list_filter_get_patch(client, env: Env) -> None:
    h = env.consultant.headers
    r = client.post(f"{API}/employers", json=employer_body(), headers=h)
    assert r.status_code == 201, r.text
    emp = r.json()
    assert emp["orgnr"] == "5560360793" and emp["kommunkod"] == "0184"
    r = client.post(f"{API}/employers", json=employer_body(
        name="Göteborgs Stads Fastighetskontor", sector="offentlig", kommunkod="1480",
        orgnr=None, size_band="250+"), headers=h)
    assert r.status_code == 201, r.text
    gbg = r.json()
    r = client.post(f"{API}/employers", json={"name": "Stadsmissionen Second Hand",
                                              "sector": "ideell", "kommunkod": "0180"},
                    headers=h)
    assert r.status_code == 201, r.text

    def names(query: str) -> list[str]:
        return [e["name"] for e in get_json(client, f"/employers?{query}", env.consultant)
                ["items"]]

    assert len(names("")) == 4
    assert names("q=lager") == ["Åhléns Lager & Logistik AB"]
    assert names("q=LOGISTIK") == ["Coop Logistik Solna AB", "Åhléns Lager & Logistik AB"]
    assert names("q=åhléns") == ["Åhléns Lager & Logistik AB"]  # case-insensitive åäö
    assert names("kommunkod=1480") == ["Göteborgs Stads Fastighetskontor"]
    assert names("sector=ideell") == ["Stadsmissionen Second Hand"]
    assert names("kommunkod=0184&sector=privat") == ["Coop Logistik Solna AB",
                                                     "Åhléns Lager & Logistik AB"]
    page = get_json(client, "/employers?limit=1&offset=1", env.consultant)
    assert page["total"] == 4 and len(page["items"]) == 1
    assert_error(client.get(f"{API}/employers?sector=kommunal", headers=h), 422, field="sector")
    assert_error(client.get(f"{API}/employers?kommunkod=18", headers=h), 422, field="kommunkod")
    assert get_json(client, f"/employers/{gbg['id']}", env.consultant) == gbg
    r = client.patch(f"{API}/employers/{gbg['id']}", json={"contact_name": "Örjan Ek",
                                                           "orgnr": "212000-1355"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["contact_name"] == "Örjan Ek" and r.json()["orgnr"] == "2120001355"
    assert r.json()["name"] == gbg["name"]
    assert_error(client.get(f"{API}/employers/999999", headers=h), 404)


def test_employer_validation_errors_leave_data_untouched(client, env: Env) -> None:
    h = env.consultant.headers
    err = assert_error(client.post(f"{API}/employers", json=employer_body(orgnr="556036-0794"),
                                   headers=h), 422, field="orgnr")
    assert "kontrollsiffra" in detail_for(err, "orgnr")["message"]
    assert_error(client.post(f"{API}/employers", json=employer_body(orgnr="55603607"),
                             headers=h), 422, field="orgnr")
    err = assert_error(client.post(f"{API}/employers", json=employer_body(kommunkod="0000"),
                                   headers=h), 422, field="kommunkod")
    assert "kommunkod" in detail_for(err, "kommunkod")["message"].lower()
    assert_error(client.post(f"{API}/employers", json=employer_body(contact_email="ingen"),
                             headers=h), 422, field="contact_email")
    assert_error(client.post(f"{API}/employers", json=employer_body(sector="statlig"),
                             headers=h), 422, field="sector")
    assert get_json(client, "/employers", env.consultant)["total"] == 1
    before = get_json(client, f"/employers/{env.employer}", env.consultant)
    for patch, field in (({"orgnr": "556036-0794"}, "orgnr"), ({"kommunkod": "0001"},
                                                                "kommunkod"),
                         ({"name": ""}, "name"), ({"size_band": "5000+"}, "size_band")):
        assert_error(client.patch(f"{API}/employers/{env.employer}", json=patch, headers=h),
                     422, field=field)
    assert get_json(client, f"/employers/{env.employer}", env.consultant) == before


# --- slots -----------------------------------------------------------------------------------

def test_slots_create_get_patch(client, env: Env) -> None:
    r = client.post(f"{API}/slots", json=slot_body(env.employer, required_skills=["truckvana"],
                                                   driving_licences=["B"]),
                    headers=env.consultant.headers)
    assert r.status_code == 201, r.text
    slot = r.json()
    assert slot["occupation_label"] == "Lager- och terminalpersonal"
    assert slot["employer_name"] == "Coop Logistik Solna AB"
    assert slot["remaining_places"] == 2 and slot["status"] == "open"
    assert slot["required_skills"] == ["Truckvana"]  # the JobTech label
    assert slot["start_date"] == utc_today().isoformat()  # defaults to the posting date
    assert get_json(client, f"/slots/{slot['id']}", env.consultant) == slot
    # The employer's own user edits the slot.
    r = client.patch(f"{API}/slots/{slot['id']}", json={"capacity": 3, "title": "Truckförare"},
                     headers=env.employer_user.headers)
    assert r.status_code == 200, r.text
    assert r.json()["capacity"] == 3 and r.json()["remaining_places"] == 3
    assert r.json()["description"] == slot["description"]
    # JobTech-only group codes (1210 merges 1211 and 1212) are accepted.
    r = client.post(f"{API}/slots", json=slot_body(env.employer, occupation_code="1210",
                                                   title="Ekonomiassistent"),
                    headers=env.consultant.headers)
    assert r.status_code == 201, r.text
    assert r.json()["occupation_label"] == "Ekonomi- och finanschefer"
    assert_error(client.get(f"{API}/slots/999999", headers=env.consultant.headers), 404)


def test_slot_free_text_limit_is_20000_characters(client, env: Env) -> None:
    text = ("Vi söker en praktikant till vårt lager i Årsta. Arbetet innebär plock, "
            "pack och truckkörning; ö, ä och å ska överleva.\n") * 200
    text = (text + "é" * 20_000)[:20_000]
    r = client.post(f"{API}/slots", json=slot_body(env.employer, description=text),
                    headers=env.consultant.headers)
    assert r.status_code == 201, r.text
    assert get_json(client, f"/slots/{r.json()['id']}", env.consultant)["description"] == text
    err = assert_error(client.post(f"{API}/slots", json=slot_body(
        env.employer, description=text + "x"), headers=env.consultant.headers), 422,
        field="description")
    assert "20000" in detail_for(err, "description")["message"]
    assert get_json(client, "/slots", env.consultant)["total"] == 1


def test_slot_validation_errors_leave_data_untouched(client, env: Env) -> None:
    h = env.consultant.headers
    err = assert_error(client.post(f"{API}/slots", json=slot_body(env.employer,
                                                                  occupation_code="9999"),
                                   headers=h), 422, field="occupation_code")
    message = detail_for(err, "occupation_code")["message"]
    assert "Okänd yrkeskod" in message and "9999" in message
    cases = [
        (slot_body(env.employer, occupation_code="43"), "occupation_code"),
        (slot_body(env.employer, kommunkod="0999"), "kommunkod"),
        (slot_body(env.employer, driving_licences=["B", "Z9"]), "driving_licences"),
        (slot_body(env.employer, start_date="2026-03-01", end_date="2026-02-01"), "end_date"),
        (slot_body(env.employer, capacity=0), "capacity"),
        (slot_body(env.employer, capacity=2.5), "capacity"),
        (slot_body(env.employer, start_date="1 mars"), "start_date"),
        (slot_body(env.employer, swedish_level="E"), "swedish_level"),
        (slot_body(env.employer, lat=59.36), "lat"),
        (slot_body(999999), "employer_id"),
        ({"employer_id": env.employer, "title": "Städare", "kommunkod": "0180",
          "capacity": 1}, "occupation_code"),
    ]
    for body, field in cases:
        assert_error(client.post(f"{API}/slots", json=body, headers=h), 422, field=field)
    assert get_json(client, "/slots", env.consultant)["total"] == 0
    r = client.post(f"{API}/slots", json=slot_body(env.employer, start_date="2026-03-01"),
                    headers=h)
    sid = r.json()["id"]
    for patch, field in (({"occupation_code": "9999"}, "occupation_code"),
                         ({"end_date": "2026-01-31"}, "end_date"),
                         ({"kommunkod": "1234"}, "kommunkod"),
                         ({"status": "stängd"}, "status")):
        assert_error(client.patch(f"{API}/slots/{sid}", json=patch, headers=h), 422,
                     field=field)
    assert get_json(client, f"/slots/{sid}", env.consultant) == r.json()


def test_slot_list_filters(client, env: Env, world: World) -> None:
    other = world.employer(name="Städbolaget i Göteborg AB", kommunkod="1480")
    lager = world.slot(env.employer, title="Lagerarbetare", occupation_code="4322",
                       kommunkod="0184", capacity=1)
    world.slot(env.employer, title="Butikssäljare", occupation_code="5223", kommunkod="0180",
               capacity=2)
    world.slot(other, title="Städare kontor", occupation_code="9111", kommunkod="1480",
               capacity=1, status="paused")
    person = world.participant(env.unit)
    r = client.post(f"{API}/placements", json={"participant_id": person, "slot_id": lager},
                    headers=env.consultant.headers)
    client.post(f"{API}/placements/{r.json()['id']}/accept", headers=env.consultant.headers)

    def titles(query: str) -> list[str]:
        return [s["title"] for s in get_json(client, f"/slots?{query}", env.consultant)["items"]]

    assert titles("") == ["Lagerarbetare", "Butikssäljare", "Städare kontor"]
    assert titles("free=true") == ["Butikssäljare", "Städare kontor"]
    assert titles("free=false") == titles("")
    assert titles(f"employer_id={other}") == ["Städare kontor"]
    assert titles("status=paused") == ["Städare kontor"]
    assert titles("kommunkod=0184") == ["Lagerarbetare"]
    assert titles("occupation=52") == ["Butikssäljare"]
    assert titles("occupation=9111") == ["Städare kontor"]
    assert titles("q=STÄD") == ["Städare kontor"]
    assert titles("free=true&kommunkod=0180") == ["Butikssäljare"]
    h = env.consultant.headers
    assert_error(client.get(f"{API}/slots?occupation=lager", headers=h), 422, field="occupation")
    assert_error(client.get(f"{API}/slots?status=öppen", headers=h), 422, field="status")
    assert_error(client.get(f"{API}/slots?free=kanske", headers=h), 422, field="free")


# --- participants ----------------------------------------------------------------------------

def test_participant_create_get_with_monitoring_and_no_personnummer(client, env: Env) -> None:
    body = participant_body(
        postcode="169 70", kommunkod=None, personnummer=VALID_PNR, external_id="AME-2025-017",
        gender="kvinna", birth_year=1981, born_abroad=True, target_groups=["nyanländ"],
        adaptations=["inga tunga lyft"], adaptations_consent_date="2025-01-15",
        past_work=[{"code": "9111", "years": 2}], other_languages=["ar", "en"],
        skills=["truckvana", "Kassavana"], driving_licences=["B"])
    r = client.post(f"{API}/participants", json=body, headers=env.consultant.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["kommunkod"] == "0184"  # derived from the postcode (Solna)
    assert created["postcode"] == "16970"
    assert created["consultant_id"] == env.consultant.user_id  # defaults to the creator
    assert created["unit_id"] == env.unit and created["status"] == "väntande"
    assert created["enrolled_on"] == utc_today().isoformat()
    assert created["skills"][0] == "Truckvana"
    got = get_json(client, f"/participants/{created['id']}", env.consultant)
    assert got == created
    assert got["monitoring"] == {"gender": "kvinna", "birth_year": 1981, "born_abroad": True}
    assert got["has_personnummer"] is True
    assert not keys_deep(got) & {"personnummer", "pnr_hash", "pnr"}
    text = client.get(f"{API}/participants/{created['id']}", headers=env.consultant.headers).text
    assert "9876" not in text and "811218" not in text
    assert "gender" not in got  # monitoring fields only inside "monitoring"


def test_every_read_of_a_participant_is_audited(client, env: Env, world: World) -> None:
    pid = world.participant(env.unit, display_name="Yusuf Ölund")
    get_json(client, f"/participants/{pid}", env.consultant)
    get_json(client, "/participants?q=ölund", env.colleague)
    with world.factory() as s:
        rows = audit.rows_about(s, "participant", pid)
    reads = [(r.action, r.user_id) for r in rows if r.action != "participant.create"]
    assert reads == [("participant.read", env.consultant.user_id),
                     ("participant.list", env.colleague.user_id)]
    assert all("Yusuf" not in str(r.detail) for r in rows)  # no personal data in the log


def test_participant_validation_errors(client, env: Env) -> None:
    h = env.consultant.headers
    err = assert_error(client.post(f"{API}/participants", json=participant_body(
        postcode="16970", kommunkod="0180"), headers=h), 422, field="postcode")
    assert "Solna" in detail_for(err, "postcode")["message"]
    assert_error(client.post(f"{API}/participants", json=participant_body(
        personnummer="19811218-9875"), headers=h), 422, field="personnummer")
    assert_error(client.post(f"{API}/participants", json=participant_body(
        personnummer="i morgon"), headers=h), 422, field="personnummer")
    err = assert_error(client.post(f"{API}/participants", json=participant_body(
        adaptations=["reducerad arbetstid"]), headers=h), 422)
    assert "adaptations_consent_date" in err["message"]
    assert_error(client.post(f"{API}/participants", json=participant_body(
        wished_occupations=["9999"]), headers=h), 422, field="wished_occupations[0]")
    assert_error(client.post(f"{API}/participants", json=participant_body(
        kommunkod="0999"), headers=h), 422, field="kommunkod")
    assert_error(client.post(f"{API}/participants", json=participant_body(
        target_groups=["pensionär"]), headers=h), 422, field="target_groups.0")
    assert_error(client.post(f"{API}/participants", json=participant_body(
        swedish_level="sfi E"), headers=h), 422, field="swedish_level")
    assert_error(client.post(f"{API}/participants", json=participant_body(
        postcode="999 99", kommunkod=None), headers=h), 422, field="postcode")
    assert_error(client.post(f"{API}/participants", json=participant_body(
        consultant_id=env.unit_admin.user_id + 1000), headers=h), 422, field="consultant_id")
    err = assert_error(client.post(f"{API}/participants", json=participant_body(
        status="avslutad"), headers=h), 422)
    assert "exit_outcome" in err["message"]
    assert_error(client.post(f"{API}/participants", json=participant_body(status="i praktik"),
                             headers=h), 409)
    assert get_json(client, "/participants", env.consultant)["total"] == 0


def test_participant_list_filters(client, env: Env, world: World) -> None:
    def add(actor: Actor, **kw: Any) -> int:
        r = client.post(f"{API}/participants", json=participant_body(**kw),
                        headers=actor.headers)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    asa = add(env.consultant, display_name="Åsa Öberg", target_groups=["nyanländ"])
    ali = add(env.consultant, display_name="Ali Hassan", external_id="AME-77",
              target_groups=["långtidsarbetslös", "försörjningsstöd"])
    bo = add(env.colleague, display_name="Bo Ärlig", target_groups=["ungdom"])
    r = client.patch(f"{API}/participants/{bo}", json={"status": "pausad"},
                     headers=env.colleague.headers)
    assert r.status_code == 200, r.text

    def ids(query: str, actor: Actor = env.consultant) -> list[int]:
        return [p["id"] for p in get_json(client, f"/participants?{query}", actor)["items"]]

    assert ids("") == [asa, ali, bo]
    assert ids("mine=true") == [asa, ali]
    assert ids("mine=true", env.colleague) == [bo]
    assert ids("status=pausad") == [bo]
    assert ids("status=väntande") == [asa, ali]
    assert ids("target_group=ungdom") == [bo]
    assert ids("target_group=nyanländ") == [asa]
    assert ids("target_group=långtidsarbetslös") == [ali]
    assert ids("q=ali") == [ali]
    assert ids("q=ame-77") == [ali]
    assert ids("q=åsa") == [asa]  # case-insensitive, also for å, ä and ö
    assert ids("q=ÄRLIG") == [bo]
    assert ids("mine=true&target_group=försörjningsstöd") == [ali]
    listed = get_json(client, "/participants?q=Åsa", env.consultant)["items"][0]
    assert listed["monitoring"] is None and "pnr_hash" not in listed
    h = env.consultant.headers
    assert_error(client.get(f"{API}/participants?status=klar", headers=h), 422, field="status")
    assert_error(client.get(f"{API}/participants?target_group=alla", headers=h), 422,
                 field="target_group")


def test_participant_patch_handover_and_postcode(client, env: Env, world: World) -> None:
    pid = world.participant(env.unit, display_name="Östen Ålund", consultant_id=env.consultant
                            .user_id, gender="man", birth_year=1990)
    h = env.consultant.headers
    r = client.patch(f"{API}/participants/{pid}", json={"consultant_id": env.colleague.user_id},
                     headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["consultant_id"] == env.colleague.user_id
    assert r.json()["monitoring"] == {"gender": "man", "birth_year": 1990, "born_abroad": None}
    r = client.patch(f"{API}/participants/{pid}", json={"postcode": "11122", "kommunkod": None},
                     headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["kommunkod"] == "0180" and r.json()["postcode"] == "11122"
    r = client.patch(f"{API}/participants/{pid}", json={"personnummer": VALID_PNR}, headers=h)
    assert r.status_code == 200 and r.json()["has_personnummer"] is True
    assert "personnummer" not in r.json()
    # Handing over to a consultant of another unit fails and changes nothing.
    other_unit = env.world.unit(name="AME Göteborg", kommuner=["1480"])
    stranger = quick_user(env.world, Role.consultant, unit_id=other_unit)
    before = get_json(client, f"/participants/{pid}", env.consultant)
    bad = [({"consultant_id": stranger.user_id}, "consultant_id"),
           ({"consultant_id": env.employer_user.user_id}, "consultant_id"),
           ({"postcode": "16970"}, "postcode"),  # Solna, but kommunkod stays Stockholm
           ({"personnummer": "121212-1213"}, "personnummer"),
           ({"max_commute_km": -1}, "max_commute_km"),
           ({"display_name": "  "}, "display_name")]
    for patch, field in bad:
        assert_error(client.patch(f"{API}/participants/{pid}", json=patch, headers=h), 422,
                     field=field)
    err = assert_error(client.patch(f"{API}/participants/{pid}",
                                    json={"adaptations": ["inga tunga lyft"]}, headers=h), 422)
    assert "adaptations_consent_date" in err["message"]
    assert_error(client.patch(f"{API}/participants/{pid}", json={"unit_id": other_unit},
                              headers=h), 403)
    assert get_json(client, f"/participants/{pid}", env.consultant) == before


def test_participant_status_changes(client, env: Env, world: World) -> None:
    pid = world.participant(env.unit, display_name="Märta Lindqvist")
    h = env.consultant.headers
    before = get_json(client, f"/participants/{pid}", env.consultant)
    err = assert_error(client.patch(f"{API}/participants/{pid}", json={"status": "i praktik"},
                                    headers=h), 409, code="conflict")
    assert "placering" in err["message"]
    err = assert_error(client.patch(f"{API}/participants/{pid}", json={"status": "avslutad"},
                                    headers=h), 422)
    assert "exit_outcome" in err["message"]
    assert_error(client.patch(f"{API}/participants/{pid}", json={"exit_outcome": "arbete"},
                              headers=h), 422)
    assert_error(client.patch(f"{API}/participants/{pid}", json={
        "status": "avslutad", "exit_outcome": "lotteri"}, headers=h), 422, field="exit_outcome")
    assert get_json(client, f"/participants/{pid}", env.consultant) == before
    # An open placement blocks ending.
    slot = world.slot(env.employer)
    r = client.post(f"{API}/placements", json={"participant_id": pid, "slot_id": slot},
                    headers=h)
    assert r.status_code == 201
    assert_error(client.patch(f"{API}/participants/{pid}", json={
        "status": "avslutad", "exit_outcome": "arbete"}, headers=h), 409)
    client.post(f"{API}/placements/{r.json()['id']}/withdraw", headers=h)
    r = client.patch(f"{API}/participants/{pid}", json={"status": "avslutad",
                                                        "exit_outcome": "arbete"}, headers=h)
    assert r.status_code == 200, r.text
    ended = r.json()
    assert ended["status"] == "avslutad" and ended["exit_outcome"] == "arbete"
    assert ended["exit_date"] == utc_today().isoformat()
    # Back to waiting clears the outcome.
    r = client.patch(f"{API}/participants/{pid}", json={"status": "väntande"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["exit_outcome"] is None and r.json()["exit_date"] is None


# --- placements and feedback ---------------------------------------------------------------

def test_placement_flow_events_and_outcome(client, env: Env, world: World) -> None:
    pid = world.participant(env.unit, display_name="Kerstin Åberg", profile_text="Gillar lager.")
    slot = world.slot(env.employer, capacity=1)
    h = env.consultant.headers
    r = client.post(f"{API}/placements", json={"participant_id": pid, "slot_id": slot,
                                               "note": "Ringde Göran, han är positiv."},
                    headers=h)
    assert r.status_code == 201, r.text
    pl = r.json()
    assert pl["status"] == "proposed" and pl["status_sv"] == "föreslagen"
    assert pl["employer_id"] == env.employer and pl["slot_title"] == "Lagerarbetare"
    assert pl["participant"]["display_name"] == "Kerstin Åberg"
    assert pl["snapshot"]["profile_text"] == "Gillar lager."
    assert pl["note"] == "Ringde Göran, han är positiv."
    assert get_json(client, f"/placements/{pl['id']}", env.consultant) == pl
    assert_error(client.post(f"{API}/placements", json={"participant_id": pid, "slot_id": slot},
                             headers=h), 409)
    assert_error(client.put(f"{API}/placements/{pl['id']}/outcome", json={"outcome": "arbete"},
                            headers=h), 409)
    assert_error(client.post(f"{API}/placements/{pl['id']}/start", headers=h), 409,
                 code="illegal_transition")
    assert_error(client.post(f"{API}/placements/{pl['id']}/decline", json={"reason": " "},
                             headers=h), 422, field="reason")
    # The employer accepts and starts; the consultant completes.
    eh = env.employer_user.headers
    for action, by in (("accept", eh), ("start", eh), ("complete", h)):
        r = client.post(f"{API}/placements/{pl['id']}/{action}", headers=by)
        assert r.status_code == 200, (action, r.text)
    assert r.json()["status"] == "completed" and r.json()["ended_on"] == utc_today().isoformat()
    assert get_json(client, f"/participants/{pid}", env.consultant)["status"] == "väntande"
    assert_error(client.put(f"{API}/placements/{pl['id']}/outcome", json={"outcome": "lön"},
                            headers=h), 422, field="outcome")
    r = client.put(f"{API}/placements/{pl['id']}/outcome",
                   json={"outcome": "arbete", "on": "2026-02-01"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "arbete" and r.json()["outcome_on"] == "2026-02-01"
    events = client.get(f"{API}/placements/{pl['id']}/events", headers=h).json()
    assert [e["action"] for e in events] == ["propose", "accept", "start", "complete",
                                             "outcome"]
    assert events[1]["by_user_id"] == env.employer_user.user_id
    assert events[0]["from_status"] is None and events[-1]["reason"] == "arbete"
    assert_error(client.get(f"{API}/placements/999999/events", headers=h), 404)


def test_placement_validation_and_capacity(client, env: Env, world: World) -> None:
    h = env.consultant.headers
    a, b = world.participant(env.unit), world.participant(env.unit)
    slot = world.slot(env.employer, capacity=1)
    assert_error(client.post(f"{API}/placements", json={"participant_id": a}, headers=h), 422,
                 field="slot_id")
    assert_error(client.post(f"{API}/placements", json={"participant_id": "Anna",
                                                        "slot_id": slot}, headers=h),
                 422, field="participant_id")
    assert_error(client.post(f"{API}/placements", json={"participant_id": a, "slot_id": 999999},
                             headers=h), 404)
    assert_error(client.post(f"{API}/placements", json={"participant_id": 999999,
                                                        "slot_id": slot}, headers=h), 404)
    assert get_json(client, "/placements", env.consultant)["total"] == 0
    pa = client.post(f"{API}/placements", json={"participant_id": a, "slot_id": slot},
                     headers=h).json()
    pb = client.post(f"{API}/placements", json={"participant_id": b, "slot_id": slot},
                     headers=h).json()
    assert client.post(f"{API}/placements/{pa['id']}/accept", headers=h).status_code == 200
    assert_error(client.post(f"{API}/placements/{pb['id']}/accept", headers=h), 409,
                 code="no_capacity")
    assert get_json(client, f"/placements/{pb['id']}", env.consultant)["status"] == "proposed"
    assert_error(client.post(f"{API}/placements/{pb['id']}/teleport", headers=h), 422,
                 field="action")
    assert_error(client.post(f"{API}/placements/{pa['id']}/withdraw", json={"skäl": "x"},
                             headers=h), 422, field="skäl")
    client.post(f"{API}/placements/{pa['id']}/start", headers=h)
    assert_error(client.post(f"{API}/placements/{pa['id']}/abort", json={"reason": "tråkigt"},
                             headers=h), 422, field="reason")
    assert get_json(client, f"/placements/{pa['id']}", env.consultant)["status"] == "started"
    r = client.post(f"{API}/placements/{pa['id']}/abort", json={"reason": "fick arbete"},
                    headers=h)
    assert r.status_code == 200 and r.json()["abort_reason"] == "fick arbete"
    r = client.post(f"{API}/placements/{pb['id']}/decline",
                    json={"reason": "Ingen handledare i juli"}, headers=env.employer_user.headers)
    assert r.status_code == 200 and r.json()["decline_reason"] == "Ingen handledare i juli"


def test_placement_list_filters(client, env: Env, world: World) -> None:
    h = env.consultant.headers
    a, b = world.participant(env.unit), world.participant(env.unit)
    s1, s2 = world.slot(env.employer, capacity=2), world.slot(env.employer, title="Städare",
                                                              occupation_code="9111")
    ids = {}
    for person, slot in ((a, s1), (a, s2), (b, s1)):
        r = client.post(f"{API}/placements", json={"participant_id": person, "slot_id": slot},
                        headers=h)
        ids[(person, slot)] = r.json()["id"]
    client.post(f"{API}/placements/{ids[(b, s1)]}/accept", headers=h)

    def listed(query: str) -> list[int]:
        return [p["id"] for p in get_json(client, f"/placements?{query}", env.consultant)
                ["items"]]

    assert listed("") == sorted(ids.values())
    assert listed(f"participant_id={a}") == [ids[(a, s1)], ids[(a, s2)]]
    assert listed(f"slot_id={s1}") == [ids[(a, s1)], ids[(b, s1)]]
    assert listed("status=accepted") == [ids[(b, s1)]]
    assert listed(f"status=proposed&slot_id={s2}") == [ids[(a, s2)]]
    assert_error(client.get(f"{API}/placements?status=klar", headers=h), 422, field="status")


def test_feedback_post_and_list(client, env: Env, world: World) -> None:
    pid = world.participant(env.unit)
    slot = world.slot(env.employer)
    h = env.consultant.headers
    r = client.post(f"{API}/participants/{pid}/feedback",
                    json={"slot_id": slot, "reason": "För lång pendling till Solna."}, headers=h)
    assert r.status_code == 201, r.text
    fb = r.json()
    assert fb["participant_id"] == pid and fb["user_id"] == env.consultant.user_id
    listed = get_json(client, f"/participants/{pid}/feedback", env.consultant)
    assert listed["total"] == 1 and listed["items"] == [fb]
    assert_error(client.post(f"{API}/participants/{pid}/feedback",
                             json={"slot_id": slot, "reason": "   "}, headers=h),
                 422, field="reason")
    assert_error(client.post(f"{API}/participants/{pid}/feedback", json={"reason": "nej"},
                             headers=h), 422, field="slot_id")
    assert_error(client.post(f"{API}/participants/{pid}/feedback",
                             json={"slot_id": 999999, "reason": "nej"}, headers=h), 404)
    assert_error(client.post(f"{API}/participants/999999/feedback",
                             json={"slot_id": slot, "reason": "nej"}, headers=h), 404)
    assert get_json(client, f"/participants/{pid}/feedback", env.consultant)["total"] == 1


# --- reference data --------------------------------------------------------------------------

def test_reference_lookups(client, env: Env) -> None:
    h = env.employer_user.headers  # reference data is open to every signed-in user

    def get(url: str) -> Any:
        r = client.get(f"{API}/reference/{url}", headers=h)
        assert r.status_code == 200, r.text
        return r.json()

    hits = get("occupations?q=lager")
    assert hits and all("lager" in o["name"].lower() for o in hits)
    assert "4322" in {o["ssyk4"] for o in hits}
    assert len(get("occupations?q=lager&limit=3")) == 3
    occ = get("occupations/4322")
    assert occ["label"] == "Lager- och terminalpersonal" and occ["level"] == 4
    assert [p["code"] for p in occ["parents"]] == ["432", "43", "4"]
    assert occ["source"] == "ssyk2012" and occ["skills"]
    assert get("occupations/1210")["source"] == "jobtech"
    err = assert_error(client.get(f"{API}/reference/occupations/9999", headers=h), 404)
    assert "9999" in err["message"]
    names = [m["name"] for m in get("municipalities?q=Upp")]
    assert {"Uppsala", "Upplands Väsby", "Upplands-Bro"} <= set(names)
    assert get("municipalities?q=göteborg")[0]["kommunkod"] == "1480"
    assert get("postcodes/16970") == {"postcode": "16970", "kommunkod": "0184",
                                      "kommun": "Solna"}
    assert get("postcodes/111 22")["kommunkod"] == "0180"
    assert_error(client.get(f"{API}/reference/postcodes/00000", headers=h), 404)
    skills = get("skills?q=truck")
    assert "Truckvana" in skills
    assert_error(client.get(f"{API}/reference/skills", headers=h), 422, field="q")
    assert_error(client.get(f"{API}/reference/occupations?q=", headers=h), 422, field="q")
    assert_error(client.get(f"{API}/reference/municipalities?q=a&limit=101", headers=h), 422,
                 field="limit")
