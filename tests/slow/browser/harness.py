"""The browser suite's machinery: the app served by uvicorn in a thread of the test process,
the cast of users and participants the flows use, and helpers for axe, screenshots and logins.

The server runs in this process (not a subprocess) so that the services' clock stays pinned
to the demo world's day, as tests/conftest.py `frozen_day` does for the fast suite.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Locator, Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.domain.records import SlotData
from matchning.domain.vocab import ParticipantStatus
from matchning.services import recommendations, slots
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.storage.repositories import history
from matchning.storage.tables import ParticipantRow
from tests.conftest import DEMO_TODAY

HERE = Path(__file__).parent
REPO = HERE.parents[2]
ARTIFACTS = HERE / "artifacts"
DOC_SHOTS = REPO / "docs" / "screenshots"
SAVE_DOC_SHOTS = os.environ.get("MATCHNING_SAVE_DOC_SHOTS") == "1"
DOC_HEIGHT = 1100

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
PASSWORD = "Webbtest-lösen-2026"
ROLES = ("consultant", "employer", "unit_admin", "system_admin")
AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text("utf-8")
BLOCKING_IMPACTS = ("serious", "critical")

# The slot the employer posts in flow 1 (the form gets the same values): in the chosen
# participant's kommun and wished occupation, with the support that keeps it feasible.
SLOT_TITLE = "Praktik i webbtestet"
SLOT_DESCRIPTION = ("Vi tar emot en praktikant som vill lära sig yrket. Handledare finns på "
                    "plats och arbetsplatsen är tillgänglig.")
SLOT_CAPACITY = 2


@contextmanager
def pinned_clock() -> Iterator[None]:
    """The services' clock on DEMO_TODAY, as tests/conftest.py `frozen_day` pins it; a copy
    for the whole browser package because its live server (built once per backend) outlives
    a module."""
    noon = datetime(DEMO_TODAY.year, DEMO_TODAY.month, DEMO_TODAY.day, 12, tzinfo=UTC)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Context, "today", property(lambda self: DEMO_TODAY))
        mp.setattr(Context, "now", staticmethod(lambda: noon))
        yield


# --- the live server ---------------------------------------------------------------------

class LiveServer:
    """uvicorn serving `app` in a daemon thread on a port the kernel chose."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="live-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


# --- who and what the flows use ----------------------------------------------------------

@dataclass
class Cast:
    """Participants chosen for the flows (ids), and the employer's slot spec."""

    proposed: int            # flows 2-3: the new slot ranks near the top for them
    watcher: int             # flow 3: another waiting participant who is offered the slot too
    watcher_rank: int        # the slot's rank in the watcher's suggestions
    rejecter: int            # flow 4: marks a suggestion "passar inte"
    browsed: int             # the accessibility walk's participant
    occupation: str          # the new slot's SSYK code, label and kommun
    occupation_label: str
    kommunkod: str
    kommun_name: str


@dataclass
class Live:
    backend: str
    url: str
    engine: Engine
    settings: Settings
    factory: sessionmaker[Session]
    app: FastAPI
    unit_id: int
    employer_id: int               # the employer user's employer
    employer_name: str
    own_slot: int                  # an existing slot of that employer
    other_slot: int                # a slot of another employer (flow 5)
    emails: dict[str, str]
    cast: Cast
    story: dict[str, Any] = field(default_factory=dict)  # what earlier flows made

    def system_ctx(self, session: Session) -> Context:
        return Context(session=session, principal=SYSTEM, settings=self.settings,
                       matcher=Matcher(self.settings.models_dir))


def slot_data(employer_id: int, occupation: str, kommunkod: str) -> SlotData:
    """The values the employer's form posts in flow 1."""
    return SlotData(employer_id=employer_id, title=SLOT_TITLE, description=SLOT_DESCRIPTION,
                    occupation_code=occupation, kommunkod=kommunkod, capacity=SLOT_CAPACITY,
                    supervisor=True, accessible=True, may_lead_to_job=True)


def _rank(ctx: Context, participant_id: int, slot_id: int, k: int) -> int | None:
    items = recommendations.recommend(ctx, participant_id, k).items
    return next((i["rank"] for i in items if i["slot"]["id"] == slot_id), None)


def choose_cast(factory: sessionmaker[Session], settings: Settings, unit_id: int,
                employer_id: int, *, top: int = 3, watcher_k: int = 10) -> Cast:
    """Waiting participants of the unit for whom the employer's new slot (not yet posted) is
    feasible and ranks within `top` (and, for a second one, within `watcher_k`). Each try
    posts the slot in a transaction that is rolled back."""
    with factory() as session:
        waiting = [p for p in history.participant_rows(session, unit_id=unit_id,
                                                       status=ParticipantStatus.waiting.value)
                   if p.wished_occupations and p.kommunkod]
        people = [(p.id, p.wished_occupations[0], p.kommunkod) for p in waiting]
        session.rollback()
    for pid, occupation, kommunkod in people[:40]:
        with factory() as session:
            ctx = Context(session=session, principal=SYSTEM, settings=settings,
                          matcher=Matcher(settings.models_dir))
            slot_id = slots.create(ctx, slot_data(employer_id, occupation, kommunkod)).id
            session.flush()
            rank = _rank(ctx, pid, slot_id, top)
            if rank is None:
                session.rollback()
                continue
            watcher = None
            for other, _, other_kommun in people:
                if other == pid or other_kommun != kommunkod:
                    continue
                r = _rank(ctx, other, slot_id, watcher_k)
                if r is not None:
                    watcher = (other, r)
                    break
            session.rollback()
        if watcher is None:
            continue
        rest = [p for p, _, _ in people if p not in (pid, watcher[0])]
        ref = ctx.ref
        return Cast(proposed=pid, watcher=watcher[0], watcher_rank=watcher[1],
                    rejecter=_with_suggestions(factory, settings, rest),
                    browsed=_with_suggestions(factory, settings, rest[::-1]),
                    occupation=occupation,
                    occupation_label=ref.occupation_label(occupation) or occupation,
                    kommunkod=kommunkod, kommun_name=ref.municipalities[kommunkod].name)
    raise AssertionError("no waiting participant of the demo unit gets the new slot in their "
                         f"top {top}: the cast of the browser flows cannot be chosen")


def _with_suggestions(factory: sessionmaker[Session], settings: Settings,
                      ids: list[int]) -> int:
    """The first of `ids` with at least three feasible slots."""
    with factory() as session:
        ctx = Context(session=session, principal=SYSTEM, settings=settings,
                      matcher=Matcher(settings.models_dir))
        try:
            for pid in ids:
                if recommendations.recommend(ctx, pid, 3).feasible >= 3:
                    return pid
        finally:
            session.rollback()
    raise AssertionError("no waiting participant with three feasible slots")


def participant_name(live: Live, participant_id: int) -> str:
    with live.factory() as session:
        return session.get(ParticipantRow, participant_id).display_name


# --- page helpers ------------------------------------------------------------------------

def login(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in through the form and wait until the start page has been left behind."""
    page.goto("/logga-in")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(lambda url: "/logga-in" not in url)


# Long lists repeat one template: axe looks at the first few of each (its colour-contrast
# check takes seconds on a board of a hundred cards), the page around them in full.
SAMPLED = ("tbody tr:nth-child(n+6)", "li.card:nth-child(n+4)")


def axe_findings(page: Page, exclude: tuple[str, ...] = SAMPLED) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, every impact; elements matching
    `exclude` are left out."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS)  # through the DevTools protocol: the page's CSP allows it
    return page.evaluate("""async (exclude) => {
        const skip = exclude.filter(sel => document.querySelector(sel)).map(sel => [sel]);
        const where = skip.length ? {exclude: skip} : document;
        const r = await axe.run(where, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            url: v.helpUrl, targets: v.nodes.map(n => n.target.join(" "))}));
    }""", list(exclude))


def blocking(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["impact"] in BLOCKING_IMPACTS]


def describe(findings: list[dict[str, Any]], where: str) -> list[str]:
    return [f"{where}: {f['id']} ({f['impact']}) at {t}: {f['help']}"
            for f in findings for t in f["targets"]]


def assert_accessible(page: Page, where: str = "") -> None:
    """No serious or critical axe violation on the page."""
    problems = describe(blocking(axe_findings(page)), where or page.url)
    assert not problems, "axe found serious/critical violations:\n" + "\n".join(problems)


def document_problems(page: Page) -> list[str]:
    """The page declares UTF-8 with <meta charset> and says it is Swedish."""
    facts = page.evaluate("""() => ({
        lang: document.documentElement.getAttribute("lang"),
        meta: (document.querySelector("meta[charset]") || {getAttribute: () => null})
                .getAttribute("charset"),
        charset: document.characterSet})""")
    out = []
    if facts["lang"] != "sv":
        out.append(f"{page.url}: <html lang> is {facts['lang']!r}, not 'sv'")
    if (facts["meta"] or "").lower() != "utf-8" or facts["charset"] != "UTF-8":
        out.append(f"{page.url}: no <meta charset=\"utf-8\"> (meta {facts['meta']!r}, "
                   f"document {facts['charset']!r})")
    return out


class Shots:
    """Numbered screenshots of one flow: artifacts/<backend>/<flow>/<nn>-<step>.png."""

    def __init__(self, backend: str, flow: str) -> None:
        self.backend = backend
        self.dir = ARTIFACTS / backend / flow
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def __call__(self, page: Page, step: str, *, doc: str | None = None,
                 until: Locator | None = None) -> Path:
        """The viewport; with `until`, the page from its top down to that element's bottom
        (at most DOC_HEIGHT px). `doc` names the copy in docs/screenshots/ that
        MATCHNING_SAVE_DOC_SHOTS=1 makes (from the SQLite run)."""
        self.n += 1
        path = self.dir / f"{self.n:02d}-{step}.png"
        if until is None:
            page.screenshot(path=str(path))
        else:
            bottom = until.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
            width = page.viewport_size["width"] if page.viewport_size else 1280
            page.screenshot(path=str(path), full_page=True, clip={
                "x": 0, "y": 0, "width": width, "height": min(int(bottom) + 16, DOC_HEIGHT)})
        if doc and SAVE_DOC_SHOTS and self.backend == "sqlite":
            width = page.viewport_size["width"] if page.viewport_size else 0
            assert width <= 1280, f"doc screenshot {doc} is {width} px wide"
            DOC_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOC_SHOTS / f"{doc}.png")
        return path
