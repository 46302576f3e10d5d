"""Unit settings are typed for every surface, and the default commute distance is used."""

from __future__ import annotations

from matchning.domain.vocab import Role
from tests.factories import World
from tests.helpers_api import API, assert_error, participant_body, quick_user


def test_api_refuses_a_setting_of_the_wrong_type_or_range(world: World, client) -> None:
    unit = world.unit(name="Enhet Typad", kommuner=["0180"])
    admin = quick_user(world, Role.unit_admin, unit_id=unit)
    for bad in ({"start_horizon_days": "abc"}, {"rejection_days": -5},
                {"default_max_commute_km": 0}):
        r = client.patch(f"{API}/units/{unit}", headers=admin.headers, json={"settings": bad})
        err = assert_error(r, 422)
        assert any(d["field"].startswith("settings.") for d in err["details"]), err
    r = client.get(f"{API}/units/{unit}", headers=admin.headers)
    assert r.json()["settings"]["start_horizon_days"] == 60


def test_new_participant_travels_the_units_default_distance(world: World, client) -> None:
    unit = world.unit(name="Enhet Långt", kommuner=["0180"])
    admin = quick_user(world, Role.unit_admin, unit_id=unit)
    r = client.patch(f"{API}/units/{unit}", headers=admin.headers,
                     json={"settings": {"default_max_commute_km": 55}})
    assert r.status_code == 200, r.text
    cons = quick_user(world, Role.consultant, unit_id=unit)
    body = participant_body()
    body.pop("max_commute_km")
    r = client.post(f"{API}/participants", headers=cons.headers, json=body)
    assert r.status_code == 201 and r.json()["max_commute_km"] == 55
    r = client.post(f"{API}/participants", headers=cons.headers,
                    json=participant_body(max_commute_km=12))
    assert r.json()["max_commute_km"] == 12
