"""Fixtures of the browser suite: one live server per backend (the demo world seeded and a
model trained once), users with passwords for each role, one Chromium for the session and a
fresh browser context per test."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from matchning.api.app import create_app
from matchning.config import Settings
from matchning.domain.vocab import Role
from matchning.storage.db import make_session_factory
from matchning.storage.repositories import history
from tests.conftest import BACKENDS, backend_engine, seed_and_train
from tests.factories import World
from tests.slow.browser.harness import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LAPTOP,
    PASSWORD,
    Live,
    LiveServer,
    Shots,
    choose_cast,
    login,
    pinned_clock,
)


# Package scope: the pinned clock, the server and Chromium end with this package, before any
# other slow test runs.
@pytest.fixture(scope="package")
def pinned_day() -> Iterator[None]:
    with pinned_clock():
        yield


@pytest.fixture(scope="package", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         pinned_day: None, own_retrain_lock_key: None) -> Iterator[Live]:
    """The app on a free port, over the demo world with a trained model, per backend."""
    tmp = tmp_path_factory.mktemp(f"browser-{request.param}")
    (ARTIFACTS / request.param / "a11y-report.txt").unlink(missing_ok=True)
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="browser-test-secret")
    with backend_engine(request, tmp) as engine:
        _, unit_id = seed_and_train(engine, settings)
        factory = make_session_factory(engine)
        with factory() as session:
            records = history.slot_records(session, only_open=True)
            proposed = Counter(p["employer_id"] for p in history.placement_history(session)
                               if p["status"] == "proposed")
        open_slots = Counter(r["employer_id"] for r in records)
        # The employer with the most proposals waiting (its board has something to show).
        employer_id = max(open_slots, key=lambda e: (proposed[e], open_slots[e], -e))
        own = next(r for r in records if r["employer_id"] == employer_id)
        other = next(r for r in records if r["employer_id"] != employer_id)
        world = World(factory, settings)
        emails = {"consultant": "konsulent@webbtest.se", "employer": "arbetsgivare@webbtest.se",
                  "unit_admin": "enhetsadmin@webbtest.se", "system_admin": "sysadmin@webbtest.se"}
        world.user(Role.consultant, unit_id=unit_id, password=PASSWORD,
                   email=emails["consultant"])
        world.user(Role.employer, employer_id=employer_id, password=PASSWORD,
                   email=emails["employer"])
        world.user(Role.unit_admin, unit_id=unit_id, password=PASSWORD,
                   email=emails["unit_admin"])
        world.user(Role.system_admin, password=PASSWORD, email=emails["system_admin"])
        cast = choose_cast(factory, settings, unit_id, employer_id)
        app = create_app(settings=settings, engine=engine)
        server = LiveServer(app)
        server.start()
        try:
            yield Live(backend=request.param, url=server.url, engine=engine, settings=settings,
                       factory=factory, app=app, unit_id=unit_id, employer_id=employer_id,
                       employer_name=own["employer_name"], own_slot=own["id"],
                       other_slot=other["id"], emails=emails, cast=cast)
        finally:
            server.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _flow_name(request: pytest.FixtureRequest) -> str:
    return request.node.originalname.removeprefix("test_")


@pytest.fixture
def contexts(request: pytest.FixtureRequest, live: Live, browser: Browser
             ) -> Iterator[Callable[..., BrowserContext]]:
    """Makes fresh browser contexts (Swedish locale, laptop size); on a failed test each open
    page is saved as a screenshot beside the flow's own."""
    made: list[BrowserContext] = []

    def make(**kw) -> BrowserContext:
        ctx = browser.new_context(locale="sv-SE", viewport=kw.pop("viewport", LAPTOP),
                                  base_url=live.url, **kw)
        ctx.set_default_timeout(20_000)
        # Buttons with data-confirm ask through window.confirm: answer yes.
        ctx.on("page", lambda p: p.on("dialog", lambda d: d.accept()))
        made.append(ctx)
        return ctx

    yield make
    report = getattr(request.node, "report_call", None)
    failed_dir: Path | None = None
    if report is not None and report.failed:
        failed_dir = ARTIFACTS / live.backend / _flow_name(request)
        failed_dir.mkdir(parents=True, exist_ok=True)
    for i, ctx in enumerate(made):
        if failed_dir is not None:
            for j, page in enumerate(ctx.pages):
                with suppress(Exception):  # a crashed page: nothing to save
                    page.screenshot(path=str(failed_dir / f"failed-{i}-{j}.png"), full_page=True)
        ctx.close()


@pytest.fixture
def as_user(live: Live, contexts: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """`as_user("employer")`: a page of a new context, logged in through the form."""

    def open_as(role: str, **kw) -> Page:
        page = contexts(**kw).new_page()
        login(page, live.emails[role])
        return page

    return open_as


@pytest.fixture
def anon_page(contexts: Callable[..., BrowserContext]) -> Page:
    return contexts().new_page()


@pytest.fixture
def shots(request: pytest.FixtureRequest, live: Live) -> Shots:
    return Shots(live.backend, _flow_name(request))
