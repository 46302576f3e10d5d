"""The results and slot-gap pages (TestClient, no browser): the figures, the plots with their
alt texts and tables, the CSV download, bad input, the system admin's unit choice."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from matchning.domain.vocab import Role
from tests.factories import World
from tests.helpers_pages import login
from tests.results_world import ResultsWorld, build_gap_world, build_results_world

PASSWORD = "resultat-sidor-lösen-1"
QUERY = "fran=2026-01-01&till=2026-06-30"


@pytest.fixture
def rw(world: World) -> ResultsWorld:
    return build_results_world(world)


def _login(client: TestClient, world: World, role: Role, unit_id: int | None) -> None:
    email = f"{role.value}.{unit_id}@sidor.example.se"
    world.user(role, unit_id=unit_id, password=PASSWORD, email=email)
    assert login(client, email, PASSWORD).status_code == 303


def test_results_page_shows_figures_plots_and_tables(client: TestClient, world: World,
                                                     rw: ResultsWorld) -> None:
    _login(client, world, Role.unit_admin, rw.unit_a)
    r = client.get(f"/enhet/resultat?{QUERY}")
    assert r.status_code == 200, r.text
    html = r.text
    assert "2026-01-01 – 2026-06-30" in html and "2025-07-04 – 2025-12-31" in html
    imgs = re.findall(r'<img class="plot" src="([^"]+)"[^>]*alt="([^"]+)"', html)
    assert [src.split("?")[0] for src, _ in imgs] == [
        "/enhet/resultat/avslut.png", "/enhet/resultat/placeringar.png",
        "/enhet/resultat/vantetid.png"]
    alts = [alt for _, alt in imgs]
    assert "2026 K1: 1 avslut (1 arbete, 0 studier, 0 annan insats, 0 övrigt)" in alts[0]
    assert "Föreslagna: 6 (3); Accepterade: 4 (2); Startade: 4 (2); Fullföljda: 3 (1); " \
           "Fullföljda → arbete: 2 (1)" in alts[1]
    assert "ungdom: 118,0 dagar (91,0)" in alts[2]
    assert "<th scope=\"row\">Avslut till arbete eller studier</th><td>2</td><td>1</td>" in html
    assert "<th scope=\"row\">2026 K2</th><td>0</td><td>1</td><td>1</td><td>1</td><td>3</td>" \
        in html
    assert "Per målgrupp" in html and "Per yrkesgrupp (SSYK 3)" in html
    for src, _ in imgs:
        png = client.get(src.replace("&amp;", "&"))
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG")
    csv = client.get(f"/enhet/resultat/export.csv?enhet={rw.unit_a}&{QUERY}")
    assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
    assert csv.text.lstrip("\ufeff").startswith("Uppdelning;Grupp;Period")
    assert 'href="/enhet/resultat"' in client.get("/deltagare").text  # in the menu


def test_results_page_refuses_bad_periods(client: TestClient, world: World,
                                          rw: ResultsWorld) -> None:
    _login(client, world, Role.consultant, rw.unit_a)
    r = client.get("/enhet/resultat?fran=2026-06-30&till=2026-01-01")
    assert r.status_code == 422
    assert "Från-datumet ligger efter till-datumet." in r.text
    assert 'aria-describedby="fran-fel' in r.text or 'id="fran-fel' in r.text
    bad = client.get("/enhet/resultat?fran=2026-02-30")
    assert bad.status_code == 422 and "ÅÅÅÅ-MM-DD" in bad.text
    png = client.get("/enhet/resultat/avslut.png?till=igår")
    assert png.status_code == 422
    assert client.get(f"/enhet/resultat?enhet={rw.unit_b}").status_code == 404


def test_system_admin_chooses_a_unit(client: TestClient, world: World, rw: ResultsWorld
                                     ) -> None:
    _login(client, world, Role.system_admin, None)
    r = client.get("/enhet/resultat")
    assert r.status_code == 200 and "Välj en enhet för att se dess resultat." in r.text
    assert f'<option value="{rw.unit_a}"' in r.text
    assert client.get("/enhet/resultat/vantetid.png").status_code == 422
    chosen = client.get(f"/enhet/resultat?enhet={rw.unit_a}&{QUERY}")
    assert chosen.status_code == 200 and "Hela enheten" in chosen.text
    assert client.get("/enhet/resultat?enhet=abc").status_code == 422


def test_gap_page_lists_gaps_with_call_lists(client: TestClient, world: World) -> None:
    gw = build_gap_world(world)
    _login(client, world, Role.consultant, gw.unit)
    r = client.get("/enhet/platsluckor")
    assert r.status_code == 200, r.text
    rows = re.findall(r'<th scope="row"><a href="#lucka-(\d+)">([^<]+)</a></th>', r.text)
    assert rows == [("1", "Butikssäljare, fackhandel (5223)"), ("2", "Städare (9111)"),
                    ("3", "Lager- och terminalpersonal (4322)")]
    assert "Dagligvaror Söder AB" in r.text and "samma yrkesgrupp" in r.text
    assert "Event &amp; Demo AB" in r.text and "samma huvudgrupp" in r.text
    assert "Fackhandel Göteborg AB" not in r.text
    assert "sök nya arbetsgivare" in r.text  # 9111 has no employer to call
    assert "bristyrke" in r.text
    assert client.get("/enhet/platsluckor?antal=0").status_code == 422
