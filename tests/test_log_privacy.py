"""No personal data in the application logs.

A full flow runs against a real uvicorn server on loopback (so its access and error logs are
real) over a trained demo world, with every logger at DEBUG: create a participant, search by
name, read, ask for suggestions, propose and move a placement, export, erase. Then the log
output is scanned for the demo participants' names, references and free texts.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, select

from matchning.api.app import create_app
from matchning.domain.principal import Principal
from matchning.domain.vocab import Role
from matchning.log_privacy import redact_query
from matchning.services import export
from matchning.services.context import Context
from matchning.storage.db import make_engine, make_session_factory, unit_of_work
from matchning.storage.tables import ParticipantRow
from tests.conftest import _pg_schema_url, seed_and_train
from tests.factories import World
from tests.helpers_api import API, quick_user

# The demo world's slots are in their periods on DEMO_TODAY.
pytestmark = pytest.mark.usefixtures("frozen_day")

LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "matchning",
           "fastapi", "starlette", "sqlalchemy", "apscheduler")
CLIENT_SIDE = ("httpx", "httpcore")  # the test's own HTTP client, not the application
NEW_PERSON = {"display_name": "Loggvald Hemligsson", "external_id": "LOGG-REF-4711",
              "profile_text": "Texten om Loggvald får aldrig hamna i någon loggfil.",
              "kommunkod": "0180", "swedish_level": "C", "wished_occupations": ["4322"],
              "max_commute_km": 30}


@contextmanager
def serving(app) -> Iterator[str]:
    """The app on a real uvicorn server in a thread, logging through the root logger."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           log_level="debug", access_log=True))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def production_engine(engine: Engine) -> Engine:
    """An engine to the test database made the way the app makes its own (make_engine); the
    PostgreSQL fixture's engine is built differently, to pin its schema."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        url = url.update_query_dict({"options": f"-csearch_path={_pg_schema_url()}"})
    return make_engine(url.render_as_string(hide_password=False))


def _needles(session) -> list[str]:
    values = [NEW_PERSON["display_name"], NEW_PERSON["external_id"],
              NEW_PERSON["profile_text"], "Loggvald", "Hemligsson"]
    for name, ref, text in session.execute(select(
            ParticipantRow.display_name, ParticipantRow.external_id,
            ParticipantRow.profile_text)):
        values += [v for v in (name, ref, text) if v and len(v) >= 6]
    encoded = [f(v) for v in values for f in (quote, quote_plus)]
    return sorted(set(values) | set(encoded))


def test_redact_query_keeps_names_of_parameters_only() -> None:
    assert redact_query("/api/v1/participants?q=%C3%85sa%20%C3%96berg&limit=5") == \
        "/api/v1/participants?q=…&limit=…"
    assert redact_query("/api/v1/participants/12") == "/api/v1/participants/12"


def test_a_full_flow_logs_no_personal_data(engine, settings, caplog: pytest.LogCaptureFixture
                                           ) -> None:
    _, unit_id = seed_and_train(engine, settings)
    world = World(make_session_factory(engine), settings)
    consultant = quick_user(world, Role.consultant, unit_id=unit_id)
    with unit_of_work(world.factory) as session:
        needles = _needles(session)
        demo = session.scalars(select(ParticipantRow).where(
            ParticipantRow.unit_id == unit_id, ParticipantRow.status == "väntande")
            .order_by(ParticipantRow.id).limit(1)).one()
        demo_id, demo_name = demo.id, demo.display_name
        # Where the demo world has slots: the new person lives and wishes like a demo one.
        person = {**NEW_PERSON, "kommunkod": demo.kommunkod, "swedish_level": "flytande",
                  "wished_occupations": demo.wished_occupations, "max_commute_km": 50}
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)

    app_engine = production_engine(engine)
    app = create_app(settings=settings, engine=app_engine)
    with serving(app) as base, httpx.Client(base_url=base + API,
                                            headers=consultant.headers, timeout=60) as http:
        created = http.post("/participants", json=person)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        dup = http.post("/participants", json=person)  # a 409 whose message names the ref
        assert dup.status_code == 409
        bad = http.patch(f"/participants/{pid}", json={"postcode": NEW_PERSON["display_name"]})
        assert bad.status_code == 422
        assert http.get("/participants", params={"q": demo_name}).json()["total"] >= 1
        assert http.get("/participants", params={"q": "Loggvald"}).json()["total"] == 1
        assert http.get(f"/participants/{demo_id}").status_code == 200
        assert http.get(f"/participants/{demo_id}/recommendations").status_code == 200
        rec = http.get(f"/participants/{pid}/recommendations", params={"k": 3})
        assert rec.status_code == 200, rec.text
        slot = rec.json()["items"][0]["slot"]["id"]
        pl = http.post("/placements", json={"participant_id": pid, "slot_id": slot,
                                             "note": "Loggvald ringer på måndag."}).json()
        for action in ("accept", "start", "complete"):
            r = http.post(f"/placements/{pl['id']}/{action}")
            assert r.status_code == 200, r.text
        assert http.put(f"/placements/{pl['id']}/outcome",
                        json={"outcome": "arbete"}).status_code == 200
        with unit_of_work(make_session_factory(app_engine)) as session:
            principal = Principal(consultant.user_id, "k@x.se", Role.consultant, unit_id)
            data = export.export_participant(
                Context(session=session, principal=principal, settings=settings), pid)
        assert data["participant"]["display_name"] == NEW_PERSON["display_name"]
        assert http.delete(f"/participants/{pid}").status_code == 204
        assert http.get(f"/participants/{pid}").status_code == 404
    app_engine.dispose()

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = [r for r in caplog.records if not r.name.startswith(CLIENT_SIDE)]
    lines = [formatter.format(r) for r in records]
    # The capture saw the application: the access log of each request, the model loading.
    access = [line for line in lines if line.startswith("uvicorn.access")]
    assert len(access) >= 12, lines
    assert any("/api/v1/participants?q=…" in line for line in access), access
    assert any(line.startswith("matchning") for line in lines), lines
    leaks = [(n, line) for line in lines for n in needles if n in line]
    assert leaks == []
