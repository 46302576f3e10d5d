from matchning.domain.vocab import Role
from tests.factories import participant_body, slot_body


def test_flow(client, world):
    unit = world.unit()
    consultant = world.user(Role.consultant, unit_id=unit)
    emp = world.employer()
    r = client.post("/api/v1/slots", json=slot_body(emp), headers=consultant.headers)
    assert r.status_code == 201, r.text
    slot = r.json()
    r = client.post("/api/v1/participants", json=participant_body(), headers=consultant.headers)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = client.post("/api/v1/placements", json={"participant_id": pid, "slot_id": slot["id"]},
                    headers=consultant.headers)
    assert r.status_code == 201, r.text
    pl = r.json()["id"]
    r = client.post(f"/api/v1/placements/{pl}/accept", headers=consultant.headers)
    assert r.status_code == 200, r.text
    r = client.get(f"/api/v1/slots/{slot['id']}", headers=consultant.headers)
    assert r.json()["remaining_places"] == 1
