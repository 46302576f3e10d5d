"""Real ads go in: 89 Swedish job ads from JobTech JobSearch (tests/data/SOURCES.md) posted as
slots through the API, read back intact, and the ones that cannot be slots refused clearly."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from matchning.domain.vocab import Role
from tests.factories import Actor, World

API = "/api/v1"
ADS_FILE = Path(__file__).parent / "data" / "jobtech_ads_sample.jsonl"
TITLE_MAX = 300
# The unit's home kommun: where a consultant registers an employer whose workplace is unknown.
UNIT_KOMMUN = "0180"
# Counted by hand from the file: two ads have no workplace kommun (ids below).
EXPECTED_ACCEPTED = 87
EXPECTED_REJECTED = {"23570959", "30016587"}


def load_ads() -> list[dict[str, Any]]:
    with ADS_FILE.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def safe_truncate(text: str, limit: int = TITLE_MAX) -> str:
    """`text` stripped and cut to at most `limit` characters, never between a letter and a
    combining mark that belongs to it (decomposed å = a + U+030A)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = limit
    while cut > 0 and unicodedata.combining(text[cut]):
        cut -= 1
    return text[:cut].rstrip()


def _labels(concepts: list[dict[str, Any]] | None) -> list[str]:
    return [c["label"] for c in concepts or []]


def _sector(employer_name: str) -> str:
    """JobTech ads carry no sector; a kommun or region says it is public in its name."""
    name = employer_name.strip().lower()
    return "offentlig" if name.endswith(" kommun") or name.startswith("region ") else "privat"


def ad_to_bodies(ad: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The employer body and the slot body (without employer_id) for one JobTech ad.

    Only what the ad states is mapped; a missing kommun stays missing so the API refuses it.
    """
    place = ad.get("workplace_address") or {}
    kommun = place.get("municipality_code")
    employer = {"name": ad["employer"]["name"].strip(), "sector": _sector(ad["employer"]["name"]),
                "kommunkod": kommun or UNIT_KOMMUN}
    slot: dict[str, Any] = {
        "external_id": f"jobtech-{ad['id']}",
        "title": safe_truncate(ad["headline"]),
        "description": (ad.get("description") or {}).get("text") or "",
        "occupation_code": ad["_ssyk4"],
        "capacity": max(1, ad.get("number_of_vacancies") or 1),
        "start_date": ad["publication_date"][:10],
        "driving_licences": _labels(ad.get("driving_license")),
        "required_skills": _labels((ad.get("must_have") or {}).get("skills")),
        "nice_skills": _labels((ad.get("nice_to_have") or {}).get("skills")),
    }
    if kommun:
        slot["kommunkod"] = kommun
    lon, lat = (place.get("coordinates") or [None, None])[:2]
    if lon is not None and lat is not None:  # JobTech gives [lon, lat]
        slot["lat"], slot["lon"] = lat, lon
    return employer, slot


@pytest.fixture
def consultant(world: World) -> Actor:
    unit = world.unit(kommuner=[UNIT_KOMMUN])
    return world.user(Role.consultant, unit_id=unit, password=None)


def _post_employers(client: TestClient, actor: Actor, ads: list[dict[str, Any]]
                    ) -> dict[str, int]:
    """One employer per distinct name, registered in the kommun of its first known workplace."""
    bodies: dict[str, dict[str, Any]] = {}
    for ad in ads:
        body, _ = ad_to_bodies(ad)
        known = bodies.get(body["name"])
        if known is None or (known["kommunkod"] == UNIT_KOMMUN
                             and (ad.get("workplace_address") or {}).get("municipality_code")):
            bodies[body["name"]] = body
    ids = {}
    for name, body in bodies.items():
        r = client.post(f"{API}/employers", json=body, headers=actor.headers)
        assert r.status_code == 201, r.text
        assert r.json()["name"] == name
        ids[name] = r.json()["id"]
    return ids


def test_real_ads_go_in_and_read_back_intact(client: TestClient, consultant: Actor) -> None:
    ads = load_ads()
    assert len(ads) == 89
    employers = _post_employers(client, consultant, ads)
    accepted: dict[str, tuple[int, dict[str, Any]]] = {}
    rejected: dict[str, dict[str, Any]] = {}
    for ad in ads:
        employer, slot = ad_to_bodies(ad)
        body = {**slot, "employer_id": employers[employer["name"]]}
        r = client.post(f"{API}/slots", json=body, headers=consultant.headers)
        if r.status_code == 201:
            accepted[ad["id"]] = (r.json()["id"], body)
        else:
            assert r.status_code == 422, (ad["id"], r.text)
            rejected[ad["id"]] = r.json()["error"]

    assert len(accepted) == EXPECTED_ACCEPTED
    assert set(rejected) == EXPECTED_REJECTED
    for ad_id, err in rejected.items():
        assert err["code"] == "invalid_input", (ad_id, err)
        assert [d["field"] for d in err["details"]] == ["kommunkod"], (ad_id, err)
        assert "kommunkod" in err["message"]

    for ad_id, (slot_id, sent) in accepted.items():
        r = client.get(f"{API}/slots/{slot_id}", headers=consultant.headers)
        assert r.status_code == 200, r.text
        got = r.json()
        for field in ("external_id", "occupation_code", "kommunkod", "capacity", "start_date",
                      "driving_licences", "required_skills", "nice_skills", "employer_id"):
            assert got[field] == sent[field], (ad_id, field)
        assert got["title"].encode() == sent["title"].encode(), ad_id
        assert got["description"].encode() == sent["description"].encode(), ad_id
        assert (got["lat"], got["lon"]) == (sent.get("lat"), sent.get("lon")), ad_id
        assert got["remaining_places"] == sent["capacity"]
        assert got["occupation_label"], ad_id

    page = client.get(f"{API}/slots?limit=500", headers=consultant.headers).json()
    assert page["total"] == EXPECTED_ACCEPTED


def test_tricky_texts_survive(client: TestClient, consultant: Actor) -> None:
    """The ads' awkward characters: CR LF, zero-width space, soft hyphen, decomposed å/ä/ö,
    trailing blanks in the description."""
    ads = {ad["id"]: ad for ad in load_ads()}
    tricky = {"23570959": "\u200b", "30016602": "\u00ad", "30016434": "\u0308",
              "30016359": "\r\n", "23174210": "     "}
    for ad_id, needle in tricky.items():
        assert needle in ads[ad_id]["description"]["text"], ad_id
    employer = client.post(f"{API}/employers", json={"name": "Testbolaget Åäö AB",
                                                     "sector": "privat",
                                                     "kommunkod": "0180"},
                           headers=consultant.headers).json()["id"]
    for ad_id in tricky:
        _, slot = ad_to_bodies(ads[ad_id])
        slot = {**slot, "kommunkod": slot.get("kommunkod", "0180"), "employer_id": employer}
        r = client.post(f"{API}/slots", json=slot, headers=consultant.headers)
        assert r.status_code == 201, r.text
        got = client.get(f"{API}/slots/{r.json()['id']}", headers=consultant.headers).json()
        assert got["description"] == slot["description"], ad_id
        assert tricky[ad_id] in got["description"], ad_id


def test_titles_are_stripped_and_cut_safely() -> None:
    ads = {ad["id"]: ad for ad in load_ads()}
    assert safe_truncate(ads["30016548"]["headline"]) == "Distriktsläkare"
    decomposed = unicodedata.normalize("NFD", "Lärare i åk 7–9, Göteborg ")
    long = "x" * (TITLE_MAX - 1) + decomposed
    cut = safe_truncate(long)
    assert len(cut) <= TITLE_MAX
    assert cut == "x" * (TITLE_MAX - 1) + "L"
    assert safe_truncate("a" * 299 + "a\u030a") == "a" * 299  # never a bare base letter
    assert all(len(safe_truncate(ad["headline"])) <= TITLE_MAX for ad in ads.values())


def test_sector_and_mapping_of_one_ad() -> None:
    ad = next(a for a in load_ads() if a["id"] == "22884504")
    employer, slot = ad_to_bodies(ad)
    assert employer == {"name": "Fazer Food Services AB", "sector": "privat",
                        "kommunkod": "2584"}
    assert slot["kommunkod"] == "2584" and slot["occupation_code"] == "4323"
    assert (slot["lat"], slot["lon"]) == (67.8576127184316, 20.2274210124801)
    assert slot["driving_licences"] == ["D"] and slot["start_date"] == "2018-10-19"
    assert _sector("Uppsala kommun") == _sector("REGION SKÅNE") == "offentlig"
