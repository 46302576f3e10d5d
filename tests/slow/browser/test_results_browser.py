"""The results page and the slot-gap page in a real browser, on the demo world of the browser
suite: the three plots load (server-rendered PNGs with alt texts), their tables are there,
axe finds no serious or critical violation at laptop and phone width, a bad period is a 422
page, and the CSV export downloads. Screenshots: docs/screenshots/results.png and gaps.png
(with MATCHNING_SAVE_DOC_SHOTS=1)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.slow.browser.harness import PHONE, Live, Shots, assert_accessible, document_problems

pytestmark = pytest.mark.slow

PLOTS_LOADED = ("() => { const imgs = Array.from(document.querySelectorAll('img.plot'));"
                " return imgs.length === 3 && imgs.every(i => i.complete && i.naturalWidth > 0);"
                " }")


def _plots_are_there(page: Page) -> None:
    page.wait_for_function(PLOTS_LOADED)
    plots = page.locator("img.plot")
    expect(plots).to_have_count(3)
    for i in range(3):
        alt = plots.nth(i).get_attribute("alt") or ""
        assert len(alt) > 40 and any(ch.isdigit() for ch in alt), alt
    sizes = page.evaluate("() => Array.from(document.querySelectorAll('img.plot'))"
                          ".map(i => [i.naturalWidth, i.naturalHeight])")
    assert sizes == [[800, 400]] * 3, sizes


def test_results_page(live: Live, as_user, shots: Shots) -> None:
    page = as_user("unit_admin")
    page.get_by_role("link", name="Resultat", exact=True).click()
    expect(page).to_have_url(f"{live.url}/enhet/resultat")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Resultat: ")
    _plots_are_there(page)
    for caption in ("Avslut per kvartal och utfall", "Placeringar steg för steg",
                    "Median dagar till första placering per målgrupp"):
        expect(page.locator("caption", has_text=caption)).to_have_count(1)
    expect(page.get_by_role("heading", name="Per målgrupp")).to_be_visible()
    assert document_problems(page) == []
    assert_accessible(page, "resultat")
    shots(page, "resultat", doc="results", until=page.locator("#tratt-rubrik ~ figure"))

    with page.expect_download() as download:
        page.get_by_role("link", name="Ladda ner som CSV").click()
    path = download.value.path()
    assert path is not None
    text = path.read_text("utf-8-sig")
    assert text.startswith("Uppdelning;Grupp;Period;Från;Till;Personer")

    page.set_viewport_size(PHONE)
    page.reload()
    _plots_are_there(page)
    assert_accessible(page, "resultat-telefon")
    shots(page, "resultat-telefon")

    answer = page.goto("/enhet/resultat?fran=2026-06-30&till=2026-01-01")
    assert answer is not None and answer.status == 422
    expect(page.get_by_text("Från-datumet ligger efter till-datumet.").first).to_be_visible()
    assert_accessible(page, "resultat-fel")
    shots(page, "resultat-fel")


def test_gap_page(live: Live, as_user, shots: Shots) -> None:
    page = as_user("consultant")
    page.get_by_role("link", name="Platsluckor", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Platsluckor: ")
    rows = page.locator("table").first.locator("tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 1
    expect(page.get_by_role("heading", name="Arbetsgivare att ringa")).to_be_visible()
    assert document_problems(page) == []
    assert_accessible(page, "platsluckor")
    shots(page, "platsluckor", doc="gaps", until=page.locator("section.gap").first)
    page.set_viewport_size(PHONE)
    assert_accessible(page, "platsluckor-telefon")
    answer = page.goto("/enhet/platsluckor?antal=999")
    assert answer is not None and answer.status == 422
    assert_accessible(page, "platsluckor-fel")


def test_employer_has_no_results(live: Live, as_user) -> None:
    page = as_user("employer")
    expect(page.get_by_role("link", name="Resultat", exact=True)).to_have_count(0)
    answer = page.goto("/enhet/resultat")
    assert answer is not None and answer.status == 403
    assert_accessible(page, "resultat-403")
