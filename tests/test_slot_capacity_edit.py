"""A slot's capacity cannot be cut below the places already taken."""

from matchning.domain.vocab import Role


def test_capacity_cannot_drop_below_taken(client, world):
    unit = world.unit()
    consultant = world.user(Role.consultant, unit_id=unit)
    slot = world.slot(world.employer(), capacity=2)
    taken = []
    for _ in range(2):
        pid = world.participant(unit)
        r = client.post("/api/v1/placements", json={"participant_id": pid, "slot_id": slot},
                        headers=consultant.headers)
        taken.append(r.json()["id"])
        assert client.post(f"/api/v1/placements/{r.json()['id']}/accept",
                           headers=consultant.headers).status_code == 200
    r = client.patch(f"/api/v1/slots/{slot}", json={"capacity": 1}, headers=consultant.headers)
    assert r.status_code == 409 and r.json()["error"]["details"][0]["field"] == "capacity"
    assert client.get(f"/api/v1/slots/{slot}", headers=consultant.headers).json()["capacity"] == 2
    client.post(f"/api/v1/placements/{taken[0]}/withdraw", headers=consultant.headers)
    r = client.patch(f"/api/v1/slots/{slot}", json={"capacity": 1}, headers=consultant.headers)
    assert r.status_code == 200 and r.json()["remaining_places"] == 0
