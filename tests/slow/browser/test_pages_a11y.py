"""Every page of every role through axe-core, at a laptop and a phone size: no serious or
critical violation; each page declares UTF-8 and Swedish; no page breaks its own Content
Security Policy. The login form works from the keyboard with a visible focus.

Forms are also checked with their validation errors shown, the suggestions page with the
excluded slots and a "passar inte" form opened, the board with a reason form opened, and the
error pages (403, 404, 422) as the roles meet them. In long lists axe looks at the first
rows and cards (one template repeated; see harness.SAMPLED). Milder axe findings and pages
wider than the phone are written to artifacts/<backend>/a11y-report.txt for the page owners.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy import select

from matchning.ml import registry
from matchning.storage.repositories import models
from matchning.storage.tables import UserRow
from tests.slow.browser.harness import (
    ARTIFACTS,
    LAPTOP,
    PASSWORD,
    PHONE,
    Live,
    axe_findings,
    blocking,
    describe,
    document_problems,
    login,
)

pytestmark = pytest.mark.slow

Step = Callable[[Page], int | None]  # puts the page in the state to check; the status it got


@dataclass
class Visit:
    name: str
    url: str
    status: int = 200
    then: Step | None = None


def submit(button: str) -> Step:
    """Press the form's button (its fields as they are) and wait for the answer."""
    def step(page: Page) -> int:
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name=button, exact=True).first.click()
        page.wait_for_load_state()
        return answer.value.status
    return step


def fill_and_submit(fields: dict[str, str], button: str) -> Step:
    def step(page: Page) -> int:
        for label, value in fields.items():
            page.get_by_label(label, exact=True).first.fill(value)
        return submit(button)(page)
    return step


def open_details(*selectors: str) -> Step:
    """Open the first <details> matching each selector (toggles, reason forms)."""
    def step(page: Page) -> None:
        for css in selectors:
            found = page.locator(css).first
            if found.count():
                found.locator("summary").first.click()
                expect(found).to_have_attribute("open", "")
    return step


def settings_error(page: Page) -> int:
    page.locator("form[method=post][action='/enhet/installningar'] input[type=text]").first \
        .fill("många")
    return submit("Spara inställningarna")(page)


def _user_id(live: Live, role: str) -> int:
    with live.factory() as session:
        return session.scalars(select(UserRow.id).where(
            UserRow.email == live.emails[role])).one()


def _latest_run(live: Live) -> int | None:
    with live.factory() as session:
        runs = models.runs(session, 1)
        return runs[0].id if runs else None


def visits(live: Live, role: str) -> list[Visit]:
    c = live.cast
    person, slot = c.browsed, live.own_slot
    password_error = fill_and_submit({"Nuvarande lösenord (måste fyllas i)": PASSWORD,
                                      "Nytt lösenord (måste fyllas i)": "ett-langt-losenord",
                                      "Nytt lösenord igen (måste fyllas i)": "ett-annat-losen"},
                                     "Byt lösenord")
    account = [Visit("losenord", "/konto/losenord"),
               Visit("losenord-fel", "/konto/losenord", 422, password_error),
               Visit("404", "/finns-inte", 404)]
    if role == "anon":
        return [Visit("logga-in", "/logga-in"),
                Visit("logga-in-fel", "/logga-in", 401, fill_and_submit(
                    {"E-postadress (måste fyllas i)": "ingen@webbtest.se",
                     "Lösenord (måste fyllas i)": "fel-losenord"}, "Logga in")),
                Visit("404", "/finns-inte", 404)]
    if role == "consultant":
        return [
            Visit("mina-deltagare", "/deltagare?mina=1"),
            Visit("deltagare", "/deltagare?status=väntande"),
            Visit("deltagare-detalj", f"/deltagare/{person}"),
            Visit("deltagare-ny", "/deltagare/ny"),
            Visit("deltagare-ny-fel", "/deltagare/ny", 422, submit("Spara")),
            Visit("deltagare-redigera", f"/deltagare/{person}/redigera"),
            Visit("forslag", f"/deltagare/{person}/forslag",
                  then=open_details("details.excluded", "li.suggestion details.reject")),
            Visit("forslag-filterfel", f"/deltagare/{person}/forslag?kommun=Ingenstans", 422),
            Visit("placeringar", "/placeringar", then=open_details("details.reason-form")),
            Visit("placeringar-deltagare", f"/placeringar?deltagare={c.proposed}",
                  then=open_details("details.reason-form")),
            Visit("platser", "/platser"),
            Visit("platser-alla", "/platser?status=alla&q=a"),
            Visit("platser-filterfel", "/platser?yrke=xyzzy", 422),
            Visit("plats", f"/platser/{slot}"),
            Visit("plats-ny", "/platser/ny"),
            Visit("plats-ny-fel", "/platser/ny", 422, submit("Spara")),
            Visit("plats-redigera", f"/platser/{slot}/redigera"),
            Visit("resultat", "/enhet/resultat"),
            Visit("platsluckor", "/enhet/platsluckor"),
            Visit("fordelning", "/enhet/fordelning"),
            *account,
            Visit("403", "/admin/modeller", 403),
            Visit("422", "/deltagare/inte-ett-id", 422),
        ]
    if role == "employer":
        return [
            Visit("mina-platser", "/mina-platser"),
            Visit("plats", f"/platser/{slot}"),
            Visit("plats-ny", "/platser/ny"),
            Visit("plats-ny-fel", "/platser/ny", 422, submit("Spara")),
            Visit("plats-redigera", f"/platser/{slot}/redigera"),
            Visit("forslag-till-oss", "/placeringar", then=open_details("details.reason-form")),
            *account,
            Visit("403-deltagare", f"/deltagare/{person}", 403),
            Visit("403-annans-plats", f"/platser/{live.other_slot}", 403),
        ]
    if role == "unit_admin":
        return [
            Visit("anvandare", "/enhet/anvandare"),
            Visit("anvandare-ny", "/enhet/anvandare/ny"),
            Visit("anvandare-ny-fel", "/enhet/anvandare/ny", 422, submit("Skapa användare")),
            Visit("anvandare-detalj", f"/enhet/anvandare/{_user_id(live, 'consultant')}"),
            Visit("installningar", "/enhet/installningar"),
            Visit("installningar-fel", "/enhet/installningar", 422, settings_error),
            Visit("logg", "/enhet/logg"),
            Visit("logg-filterfel", "/enhet/logg?fran=igår", 422),
            Visit("deltagare", "/deltagare"),
            Visit("placeringar", "/placeringar"),
            Visit("platser", "/platser"),
            Visit("rattvisa", "/enhet/rattvisa"),
            Visit("resultat", "/enhet/resultat"),
            Visit("platsluckor", "/enhet/platsluckor"),
            Visit("fordelning", "/enhet/fordelning"),
            *account,
            Visit("403", "/admin/korningar", 403),
        ]
    assert role == "system_admin"
    versions = registry.versions(live.settings.models_dir)
    run = _latest_run(live)
    return [
        Visit("modeller", "/admin/modeller"),
        Visit("modell-version", f"/admin/modeller/{versions[-1]['version']}"),
        Visit("korningar", "/admin/korningar"),
        *([Visit("korning", f"/admin/jobb/{run}")] if run else []),
        Visit("anvandare", "/enhet/anvandare"),
        Visit("anvandare-ny", "/enhet/anvandare/ny"),
        Visit("installningar", f"/enhet/installningar?enhet={live.unit_id}"),
        Visit("logg", "/enhet/logg"),
        Visit("platser", "/platser"),
        Visit("resultat", "/enhet/resultat"),
        Visit("platsluckor", "/enhet/platsluckor"),
        Visit("rattvisa", "/enhet/rattvisa"),
        *account,
    ]


class Findings:
    """What the walk found: failures (blocking) and notes (for the report only)."""

    def __init__(self, live: Live, role: str) -> None:
        self.failures: list[str] = []
        self.notes: list[str] = []
        self.dir = ARTIFACTS / live.backend / f"a11y-{role}"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.report = ARTIFACTS / live.backend / "a11y-report.txt"

    def write(self, role: str) -> None:
        lines = [f"## {role}", *(f"FAIL {f}" for f in self.failures),
                 *(f"note {n}" for n in self.notes), ""]
        with self.report.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")


def _check(page: Page, where: str, found: Findings) -> None:
    axe = axe_findings(page)
    found.failures += describe(blocking(axe), where)
    found.notes += describe([f for f in axe if f not in blocking(axe)], where)


def _walk(live: Live, page: Page, role: str, found: Findings) -> None:
    csp: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text:
            csp.append(msg.text)

    page.on("console", on_console)
    planned = visits(live, role)
    if role != "anon":  # every page the role's menu offers is among the visits
        menu = page.get_by_role("navigation", name="Huvudmeny").get_by_role("link")
        offered = {urlsplit(h or "").path for h in
                   (link.get_attribute("href") for link in menu.all())}
        missing = offered - {urlsplit(v.url).path for v in planned}
        found.failures += [f"{role}: the menu's {path} is not checked" for path in missing]
    for n, visit in enumerate(planned, start=1):
        page.set_viewport_size(LAPTOP)
        response = page.goto(visit.url)
        status = response.status if response else None
        if visit.then is not None:
            status = visit.then(page) or status
        where = f"{role} {visit.name} ({visit.url})"
        if status != visit.status:
            found.failures.append(f"{where}: status {status}, expected {visit.status}")
        found.failures += [f"{role} {visit.name}: {p}" for p in document_problems(page)]
        _check(page, f"{where} laptop", found)
        page.set_viewport_size(PHONE)
        _check(page, f"{where} phone", found)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        if wide > PHONE["width"]:
            found.notes.append(f"{where} phone: the page is {wide} px wide (scrolls sideways)")
        if live.backend == "sqlite":  # the same pages on both: pictures of one
            page.screenshot(path=str(found.dir / f"{n:02d}-{visit.name}-telefon.png"))
        found.failures += [f"{where}: CSP refused: {m}" for m in csp]
        csp.clear()


@pytest.mark.parametrize("role", ["anon", "consultant", "employer", "unit_admin",
                                  "system_admin"])
def test_every_page_accessible(live: Live, contexts, role: str) -> None:
    page = contexts().new_page()
    if role != "anon":
        login(page, live.emails[role])
    found = Findings(live, role)
    _walk(live, page, role, found)
    found.write(role)
    assert not found.failures, (f"{len(found.failures)} problems (report: {found.report}):\n"
                                + "\n".join(found.failures))


def _focused(page: Page) -> dict:
    return page.evaluate("""() => {
        const e = document.activeElement, s = getComputedStyle(e);
        return {tag: e.tagName.toLowerCase(), id: e.id, type: e.type || "",
                text: (e.innerText || "").trim(), outline: s.outlineStyle,
                width: parseFloat(s.outlineWidth) || 0};
    }""")


def test_login_by_keyboard(live: Live, contexts) -> None:
    """Tab reaches the e-mail field, the password field and the button, in that order, each
    with a visible focus ring; typing and Enter log in."""
    page = contexts().new_page()
    page.goto("/logga-in")
    seen = []
    for _ in range(10):
        page.keyboard.press("Tab")
        now = _focused(page)
        seen.append(now)
        if now["tag"] == "button":
            break
    order = [("input", "email"), ("input", "password"), ("button", "")]
    stops = [(s["tag"], s["id"] if s["tag"] == "input" else "") for s in seen]
    positions = [stops.index(o) if o in stops else -1 for o in order]
    assert -1 not in positions and positions == sorted(positions), stops
    assert seen[0]["text"] == "Hoppa till innehållet", seen[0]  # the skip link comes first
    for s in seen:
        assert s["outline"] != "none" and s["width"] > 0, f"no visible focus on {s}"
    button = seen[positions[2]]
    assert button["text"] == "Logga in", button

    page.get_by_label("E-postadress").focus()
    page.keyboard.type(live.emails["consultant"])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/deltagare\?mina=1$"))
    shot = ARTIFACTS / live.backend / "login-keyboard.png"
    Path(shot).parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))


def test_axe_sees_violations(browser) -> None:
    """The helper really runs axe: a page with known faults is reported (no server needed)."""
    page = browser.new_page()
    try:
        page.set_content('<!doctype html><html><head><title>x</title></head><body><main>'
                         '<img src="data:,"><button></button>'
                         '<p style="color:#eee;background:#fff">svag kontrast</p></main></body>'
                         '</html>')
        found = {f["id"]: f["impact"] for f in blocking(axe_findings(page))}
        assert {"image-alt", "button-name", "color-contrast"} <= set(found), found
        assert document_problems(page)  # no lang, no <meta charset>
    finally:
        page.close()
