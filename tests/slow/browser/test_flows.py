"""The six end-to-end flows of issue 5 in Chromium, on SQLite and PostgreSQL.

The flows tell one story per backend and run in this order: the employer posts a slot (1), a
consultant proposes a participant for it (2), the employer accepts and the consultant carries
the placement through (3). Each later flow finds what the earlier one made in `live.story`;
run alone (`-k`), it makes it through the services first.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from matchning.domain.principal import SYSTEM
from matchning.domain.records import SlotData
from matchning.services import placements, slots, users
from matchning.services.context import Context
from matchning.storage.db import unit_of_work
from matchning.storage.tables import PlacementRow, UserRow
from tests.slow.browser.harness import (
    SLOT_CAPACITY,
    SLOT_TITLE,
    Live,
    Shots,
    participant_name,
    slot_data,
)

pytestmark = pytest.mark.slow

FORBIDDEN_TITLE = "Du har inte behörighet"


def _h1(page: Page):
    return page.get_by_role("heading", level=1)


def _post(page: Page, button, path: str):
    """Click a form's submit button; the response to its POST (status before redirects)."""
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.split("?")[0].endswith(path)) as answer:
        button.click()
    page.wait_for_load_state()
    return answer.value


def _choose_occupation(page: Page, label: str, code: str) -> None:
    """Type a job title into "Yrke" and take the autocompletion's entry for `code`."""
    field = page.get_by_label("Yrke")
    field.fill(label)
    option = page.locator(f"#yrken option[value^='{code} ']").first
    expect(option).to_be_attached()
    field.fill(option.get_attribute("value") or "")


# --- 1: the employer posts a slot ----------------------------------------------------------

def test_flow1_employer_posts_slot(live: Live, as_user, shots: Shots) -> None:
    cast = live.cast
    page = as_user("employer")
    expect(page).to_have_url(re.compile(r"/mina-platser$"))
    expect(_h1(page)).to_have_text("Mina praktikplatser")
    shots(page, "mina-platser")
    page.get_by_role("link", name="Lägg upp en ny praktikplats").click()
    expect(_h1(page)).to_have_text("Ny praktikplats")

    # First try: the occupation is left out.
    page.get_by_label("Rubrik").fill(SLOT_TITLE)
    page.get_by_label("Beskrivning").fill(slot_data(0, "0000", "0000").description)
    page.get_by_label("Kommun", exact=True).fill(f"{cast.kommunkod} {cast.kommun_name}")
    page.get_by_label("Antal platser").fill(str(SLOT_CAPACITY))
    page.get_by_label("Tillgänglig arbetsplats").check()
    page.get_by_label("Det finns en handledare").check()
    page.get_by_label("Kan leda till anställning").check()
    shots(page, "formular-ifyllt")
    answer = _post(page, page.get_by_role("button", name="Spara"), "/platser/ny")
    assert answer.status == 422
    occupation = page.get_by_label("Yrke")
    expect(occupation).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#occupation-fel")).to_have_text("Fältet måste fyllas i.")
    expect(page.get_by_role("alert")).to_contain_text("Något behöver rättas")
    expect(page.get_by_label("Rubrik")).to_have_value(SLOT_TITLE)  # nothing typed is lost
    shots(page, "valideringsfel")

    # Fixed: the occupation chosen from the autocompletion.
    _choose_occupation(page, cast.occupation_label, cast.occupation)
    answer = _post(page, page.get_by_role("button", name="Spara"), "/platser/ny")
    assert answer.status == 303
    expect(page).to_have_url(re.compile(r"/platser/\d+$"))
    slot_id = int(page.url.rsplit("/", 1)[1])
    expect(_h1(page)).to_have_text(SLOT_TITLE)
    expect(page.get_by_role("status").first).to_contain_text("är sparad")
    shots(page, "platsen-sparad")

    page.get_by_role("navigation", name="Huvudmeny").get_by_role(
        "link", name="Mina platser").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=SLOT_TITLE))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{SLOT_CAPACITY} av {SLOT_CAPACITY} lediga")
    expect(row).to_contain_text(cast.kommun_name)
    shots(page, "listad")
    live.story["slot_id"] = slot_id


# --- what an earlier flow made, or the same through the services when run alone -----------

def _ensure_slot(live: Live) -> int:
    if "slot_id" not in live.story:
        with unit_of_work(live.factory) as session:
            ctx = Context(session=session, principal=SYSTEM, settings=live.settings)
            data: SlotData = slot_data(live.employer_id, live.cast.occupation,
                                       live.cast.kommunkod)
            live.story["slot_id"] = slots.create(ctx, data).id
    return live.story["slot_id"]


def _ensure_proposed(live: Live) -> int:
    slot_id = _ensure_slot(live)
    if "placement_id" not in live.story:
        with unit_of_work(live.factory) as session:
            consultant = _consultant_principal(live, session)
            ctx = Context(session=session, principal=consultant, settings=live.settings)
            live.story["placement_id"] = placements.propose(ctx, live.cast.proposed,
                                                            slot_id).row.id
    return live.story["placement_id"]


def _consultant_principal(live: Live, session):
    row = session.scalars(select(UserRow).where(
        UserRow.email == live.emails["consultant"])).one()
    return users.principal_of(row)


def _suggestion(page: Page, slot_id: int):
    return page.locator(f"li.suggestion#plats-{slot_id}")


def _open_suggestions(page: Page, live: Live, participant_id: int, slot_id: int | None = None,
                      k: int | None = None):
    """The participant's suggestions page (with a larger k when the slot is not in the first
    ten); returns the slot's card when `slot_id` is given."""
    page.goto(f"/deltagare/{participant_id}/forslag" + (f"?k={k}" if k else ""))
    expect(_h1(page)).to_contain_text("Förslag på praktikplatser")
    if slot_id is None:
        return None
    card = _suggestion(page, slot_id)
    if card.count() == 0 and not k:
        more = page.get_by_role("link", name=re.compile(r"Visa fler förslag"))
        if more.count():
            more.last.click()
            expect(_h1(page)).to_contain_text("Förslag på praktikplatser")
    return card


# --- 2: a consultant finds the slot among the suggestions and proposes it ----------------

def test_flow2_consultant_proposes(live: Live, as_user, shots: Shots) -> None:
    slot_id = _ensure_slot(live)
    name = participant_name(live, live.cast.proposed)
    page = as_user("consultant")
    expect(_h1(page)).to_have_text("Mina deltagare")
    page.get_by_role("navigation", name="Huvudmeny").get_by_role(
        "link", name="Alla deltagare").click()
    page.get_by_label("Sök namn eller id").fill(name)
    page.get_by_role("button", name="Visa").click()
    page.get_by_role("link", name=name, exact=True).first.click()
    expect(_h1(page)).to_have_text(name)
    shots(page, "deltagaren")

    page.get_by_role("link", name="Visa förslag på praktikplatser").click()
    expect(_h1(page)).to_have_text(f"Förslag på praktikplatser för {name}")
    shots(page, "forslag")
    card = _suggestion(page, slot_id)
    if card.count() == 0:  # further down: the page offers more
        page.get_by_role("link", name=re.compile(r"Visa fler förslag")).last.click()
    expect(card).to_have_count(1)
    expect(card.get_by_role("link", name=SLOT_TITLE)).to_be_visible()
    expect(card).to_contain_text(live.employer_name)
    expect(card).to_contain_text(live.cast.kommun_name)
    expect(card.locator("meter")).to_have_count(1)
    expect(card.locator(".score strong")).to_have_text(re.compile(r"^\d+\s?%$"))
    expect(card.locator("dt", has_text="Lediga platser").locator("+ dd")).to_have_text(
        str(SLOT_CAPACITY))
    # The reasons, as short sentences for and against.
    expect(card.get_by_role("heading", name="Talar för")).to_be_visible()
    reasons_for = card.locator("ul.reason-for li")
    expect(reasons_for.first).to_be_visible()
    assert all(t.strip().endswith(".") for t in reasons_for.all_inner_texts())
    card.scroll_into_view_if_needed()
    shots(page, "platsen-bland-forslagen")
    shots(page, "forslagen-med-skal", doc="suggestions",
          until=page.locator("li.suggestion").first)

    answer = _post(page, card.get_by_role(
        "button", name=re.compile(rf"^Föreslå placering\W+{re.escape(SLOT_TITLE)}$")),
                   f"/deltagare/{live.cast.proposed}/forslag/foresla")
    assert answer.status == 303
    expect(page).to_have_url(re.compile(rf"/placeringar\?deltagare={live.cast.proposed}"))
    expect(page.get_by_role("status").first).to_contain_text("är föreslagen till")
    proposed = page.get_by_role("region", name=re.compile("^Föreslagen"))
    placed = proposed.locator("li.placement-card", has_text=SLOT_TITLE)
    expect(placed).to_have_count(1)
    expect(placed.locator(".status-line")).to_contain_text(re.compile("föreslagen", re.I))
    shots(page, "placeringstavlan")
    live.story["placement_id"] = int(placed.get_attribute("id").rsplit("-", 1)[1])


# --- 3: the employer accepts, the consultant starts and completes ------------------------

def _card(page: Page, placement_id: int):
    return page.locator(f"#placering-{placement_id}")


def _act(page: Page, placement_id: int, action: str, path_end: str) -> None:
    card = _card(page, placement_id)
    answer = _post(page, card.get_by_role("button", name=re.compile(f"^{action} ")),
                   f"/placeringar/{placement_id}/{path_end}")
    assert answer.status == 303, f"{action}: {answer.status}"


def _places_everywhere(live: Live, consultant: Page, employer: Page, slot_id: int,
                       remaining: int, shots: Shots, when: str) -> None:
    """Every page that shows the slot's free places shows `remaining`."""
    words = f"{remaining} av {SLOT_CAPACITY} lediga"
    employer.goto(f"/platser/{slot_id}")
    expect(employer.locator("dt", has_text="Platser").locator("+ dd")).to_contain_text(words)
    employer.goto("/mina-platser")
    row = employer.get_by_role("row").filter(has=employer.get_by_role("link", name=SLOT_TITLE))
    expect(row).to_contain_text(words)
    shots(employer, f"mina-platser-{when}")
    consultant.goto(f"/platser/{slot_id}")
    expect(consultant.locator("dt", has_text="Platser").locator("+ dd")).to_contain_text(words)
    consultant.goto("/platser")
    consultant.get_by_label("Sök i titeln").fill(SLOT_TITLE)
    consultant.get_by_role("button", name="Visa").click()
    row = consultant.get_by_role("row").filter(
        has=consultant.get_by_role("link", name=SLOT_TITLE))
    expect(row).to_contain_text(words)
    shots(consultant, f"platser-{when}")
    # Another waiting participant is offered the slot: its card says the same.
    k = max(10, live.cast.watcher_rank)
    card = _open_suggestions(consultant, live, live.cast.watcher, slot_id, k=k)
    expect(card.locator("dt", has_text="Lediga platser").locator("+ dd")).to_have_text(
        str(remaining))
    card.scroll_into_view_if_needed()
    shots(consultant, f"forslag-annan-deltagare-{when}")


def test_flow3_accept_start_complete(live: Live, as_user, shots: Shots) -> None:
    slot_id = _ensure_slot(live)
    placement_id = _ensure_proposed(live)
    name = participant_name(live, live.cast.proposed)
    employer = as_user("employer")
    consultant = as_user("consultant")
    _places_everywhere(live, consultant, employer, slot_id, SLOT_CAPACITY, shots, "fore")

    # The employer answers the proposal on its board.
    expect(employer.get_by_role("status").first).to_contain_text("förslag väntar på ert svar")
    employer.get_by_role("navigation", name="Huvudmeny").get_by_role(
        "link", name="Förslag till oss").click()
    expect(_h1(employer)).to_have_text("Förslag till oss")
    card = _card(employer, placement_id)
    expect(card).to_contain_text(name)
    expect(card.locator("a[href^='/deltagare']")).to_have_count(0)  # no way to the profile
    card.scroll_into_view_if_needed()
    shots(employer, "forslag-till-oss")
    _act(employer, placement_id, "Acceptera", "acceptera")
    expect(employer.get_by_role("status").first).to_contain_text("accepterad")
    accepted = employer.get_by_role("region", name=re.compile("^Accepterad"))
    expect(accepted.locator(f"#placering-{placement_id}")).to_contain_text(
        f"1 av {SLOT_CAPACITY}")
    shots(employer, "accepterad")
    _places_everywhere(live, consultant, employer, slot_id, SLOT_CAPACITY - 1, shots,
                       "accepterad")

    # The consultant starts it and completes it with the outcome "arbete".
    consultant.goto(f"/placeringar?deltagare={live.cast.proposed}")
    _act(consultant, placement_id, "Starta", "starta")
    running = consultant.get_by_role("region", name=re.compile("^Pågår"))
    expect(running.locator(f"#placering-{placement_id} .status-line")).to_contain_text(
        re.compile("pågår", re.I))
    shots(consultant, "pagar")
    _act(consultant, placement_id, "Avsluta", "avsluta")
    ended = consultant.get_by_role("region", name=re.compile("^Avslutad"))
    card = ended.locator(f"#placering-{placement_id}")
    expect(card.locator(".status-line")).to_contain_text(re.compile("avslutad", re.I))
    card.get_by_label("Utfall efter placeringen").select_option("arbete")
    answer = _post(consultant, card.get_by_role("button", name=re.compile("^Spara utfall")),
                   f"/placeringar/{placement_id}/utfall")
    assert answer.status == 303
    expect(consultant.get_by_role("status").first).to_contain_text("sparat: arbete")
    card = _card(consultant, placement_id)
    expect(card.locator("dt", has_text="Utfall").locator("+ dd")).to_have_text("Arbete")
    card.scroll_into_view_if_needed()
    shots(consultant, "avslutad-med-arbete")
    _places_everywhere(live, consultant, employer, slot_id, SLOT_CAPACITY, shots, "avslutad")

    consultant.goto("/placeringar")
    shots(consultant, "placeringstavlan", doc="board",
          until=consultant.get_by_role("region", name=re.compile("^Föreslagen")))
    with live.factory() as session:
        row = session.get(PlacementRow, placement_id)
        assert (row.status, row.outcome) == ("completed", "arbete")


# --- 4: "passar inte" takes a suggestion off the list ------------------------------------

def test_flow4_not_suitable(live: Live, as_user, shots: Shots) -> None:
    who = live.cast.rejecter
    page = as_user("consultant")
    _open_suggestions(page, live, who)
    cards = page.locator("li.suggestion").filter(
        has_not=page.get_by_role("link", name=SLOT_TITLE, exact=True))
    card = cards.first
    slot_id = int((card.get_attribute("id") or "").rsplit("-", 1)[1])
    title = card.get_by_role("heading", level=3).get_by_role("link").inner_text()
    shots(page, "forslagen")

    card.locator("summary", has_text="Passar inte").click()
    reason = card.get_by_label("Varför passar platsen inte?")
    expect(reason).to_be_visible()
    # No reason given: refused, the question asked again next to the field.
    answer = _post(page, card.get_by_role("button", name='Markera "passar inte"'),
                   f"/deltagare/{who}/forslag/passar-inte")
    assert answer.status == 422
    card = _suggestion(page, slot_id)
    expect(card.locator(f"#reason-{slot_id}-fel")).to_contain_text("Välj en anledning")
    expect(card.get_by_label("Varför passar platsen inte?")).to_have_attribute(
        "aria-invalid", "true")
    shots(page, "anledning-saknas")

    card.get_by_label("Varför passar platsen inte?").select_option("Arbetstiderna passar inte")
    card.get_by_label("Egen anledning eller mer om varför").fill("Kan bara arbeta förmiddagar.")
    answer = _post(page, card.get_by_role("button", name='Markera "passar inte"'),
                   f"/deltagare/{who}/forslag/passar-inte")
    assert answer.status == 303
    expect(page.get_by_role("status").first).to_contain_text("passar inte")
    expect(_suggestion(page, slot_id)).to_have_count(0)
    expect(page.locator("li.suggestion").first).to_be_visible()  # the others are still there
    shots(page, "borta-ur-listan")
    # Asked again it stays away, and the participant's page records why.
    page.reload()
    expect(_suggestion(page, slot_id)).to_have_count(0)
    page.get_by_role("link", name=re.compile("^Tillbaka till")).click()
    marked = page.get_by_role("heading", name='Markerat "passar inte"').locator(
        "xpath=following-sibling::ul[1]")
    expect(marked).to_contain_text("Arbetstiderna passar inte: Kan bara arbeta förmiddagar.")
    shots(page, "markerat-pa-deltagaren")
    assert title


# --- 5: an employer is kept out ------------------------------------------------------------

def test_flow5_employer_kept_out(live: Live, as_user, shots: Shots) -> None:
    page = as_user("employer")
    targets = [f"/deltagare/{live.cast.proposed}", f"/deltagare/{live.cast.proposed}/forslag",
               f"/platser/{live.other_slot}", f"/platser/{live.other_slot}/redigera"]
    for url in targets:
        response = page.goto(url)
        assert response is not None and response.status == 403, url
        expect(_h1(page)).to_have_text(FORBIDDEN_TITLE)
        expect(page.get_by_role("heading", name="Vad kan du göra nu?")).to_be_visible()
        expect(page.get_by_role("link", name="Till startsidan")).to_be_visible()
        # Nothing of the participant or the other employer's slot leaks onto the page.
        expect(page.locator("main")).not_to_contain_text(
            participant_name(live, live.cast.proposed))
        shots(page, "403-" + url.strip("/").replace("/", "-"))
    # Its own slot is there.
    response = page.goto(f"/platser/{live.own_slot}")
    assert response is not None and response.status == 200


# --- 6: a system admin retrains and sees the new version --------------------------------

RETRAIN_TIMEOUT_MS = 240_000


def test_flow6_retrain(live: Live, as_user, shots: Shots) -> None:
    page = as_user("system_admin")
    expect(page).to_have_url(re.compile(r"/admin/modeller$"))
    expect(_h1(page)).to_have_text("Modeller")
    versions = page.locator("table.versions tbody tr")
    before = versions.count()
    assert before >= 1
    known = set(versions.locator("td:first-child").all_inner_texts())
    shots(page, "modeller-fore")

    answer = _post(page, page.get_by_role("button", name="Starta omträning"), "/admin/omtraning")
    assert answer.status == 303
    expect(page).to_have_url(re.compile(r"/admin/jobb/\d+$"))
    run_id = int(page.url.rsplit("/", 1)[1])
    expect(_h1(page)).to_have_text(f"Omträning {run_id}")
    shots(page, "jobbet-startat")
    # The page reloads itself every few seconds until the run has ended.
    done = page.locator(".job-status.job-promoted, .job-status.job-rejected, "
                        ".job-status.job-failed")
    expect(done).to_be_visible(timeout=RETRAIN_TIMEOUT_MS)
    status = page.locator(".job-status")
    assert "job-failed" not in (status.get_attribute("class") or ""), status.inner_text()
    new_version = page.locator("dt", has_text="Ny version").locator("+ dd")
    version = new_version.inner_text().strip()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]+", version), version
    expect(page.get_by_role("heading", name="Mätvärden vid kontrollen")).to_be_visible()
    metrics = page.get_by_role("row").filter(has=page.get_by_role("rowheader",
                                                                  name="NDCG@10"))
    expect(metrics.first).to_contain_text(re.compile(r"0[.,]\d"))
    shots(page, "jobbet-klart")

    page.get_by_role("link", name="Till modellerna").click()
    expect(versions).to_have_count(before + 1)
    row = versions.filter(has=page.get_by_role("link", name=version, exact=True))
    expect(row).to_have_count(1)
    assert version not in known
    cells = row.locator("td").all_inner_texts()
    assert re.match(r"0[.,]\d", cells[4]), f"NDCG@10 of the new version: {cells}"
    assert re.match(r"0[.,]\d", cells[5]), f"AUC of the new version: {cells}"
    plot = page.get_by_role("img", name=re.compile("NDCG@10"))
    expect(plot).to_be_visible()
    chart_png = page.request.get(plot.get_attribute("src") or "")
    assert chart_png.ok and chart_png.headers["content-type"] == "image/png", chart_png.status
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=plot.element_handle(), timeout=60_000)
    shots(page, "modeller-med-diagram", doc="admin-models",
          until=page.get_by_role("region", name="Modellen mot jämförelsemetoderna"))
    live.story["run_id"] = run_id
