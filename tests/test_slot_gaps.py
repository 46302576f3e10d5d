"""Slot-gap analysis on a world whose gaps are known exactly (tests/results_world.py
build_gap_world), on SQLite and PostgreSQL: the ranking, the measure, the shortage index,
the stored lists' part in "a good suggestion", the call lists; API and CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matchning.domain.gaps import Gap, Seeker, ShortageIndex, closeness, rank_gaps
from matchning.domain.principal import SYSTEM
from matchning.domain.vocab import Role
from matchning.errors import InvalidInput
from matchning.services import gaps
from matchning.services.context import Context
from matchning.storage.db import make_session_factory, unit_of_work
from matchning.storage.repositories import precomputed
from tests.factories import World
from tests.helpers_api import API, assert_error, quick_user
from tests.results_world import GapWorld, build_gap_world


@pytest.fixture
def gw(world: World) -> GapWorld:
    return build_gap_world(world)


def _analyse(world: World, unit_id: int, top: int = 20) -> dict:
    with unit_of_work(world.factory) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=world.settings)
        return gaps.as_json(ctx, gaps.analyse(ctx, unit_id, top))


def _summary(data: dict) -> list[tuple]:
    return [(g["occupation"]["code"], g["kommun"]["kommunkod"], g["participants"],
             g["without_feasible_slot"], g["without_good_suggestion"], g["free_places_in_reach"],
             g["demand"], g["shortfall"], g["affected"]) for g in data["gaps"]]


def test_gap_ranking_and_measures(world: World, gw: GapWorld) -> None:
    data = _analyse(world, gw.unit)
    assert data["waiting"] == 7
    assert data["judged_by_stored_lists"] == 0
    assert _summary(data) == [
        ("5223", "0180", 2, 2, 2, 0, 4, 4, 2),
        ("9111", "0180", 1, 1, 1, 0, 2, 2, 1),  # ties with 4322: better five-year index
        ("4322", "0180", 3, 0, 0, 1, 3, 2, 2),
    ]
    first, second, third = data["gaps"]
    assert first["shortage_index"] == {"2022": 3.0, "outlook": 3.0}
    assert not first["job_chances"]
    assert second["shortage_index"] == {"2022": 4.0, "outlook": 4.0} and second["job_chances"]
    assert third["shortage_index"] == {"2022": 4.0, "outlook": 3.0} and third["job_chances"]
    assert first["occupation"]["label"] == "Butikssäljare, fackhandel"
    assert first["kommun"]["name"] == "Stockholm"
    # Call lists: nearby occupations within reach, closest occupation first; the Göteborg
    # employer with a 5223 slot is out of reach.
    calls = [(c["employer"]["id"], c["closeness"], c["participants_in_reach"])
             for c in first["call_list"]]
    assert calls == [(gw.employers["E2"], 3, 2), (gw.employers["E3"], 2, 2)]
    assert first["call_list"][0]["slots"][0]["occupation_code"] == "5222"
    assert first["call_list"][0]["employer"]["contact_name"] is None
    assert second["call_list"] == []
    assert [(c["employer"]["id"], c["closeness"], c["participants_in_reach"])
            for c in third["call_list"]] == [(gw.employers["E1"], 4, 3)]
    assert [g["rank"] for g in data["gaps"]] == [1, 2, 3]
    assert len(_analyse(world, gw.unit, top=1)["gaps"]) == 1


def test_a_stored_list_decides_what_a_good_suggestion_is(world: World, gw: GapWorld) -> None:
    """Ga1's stored list has a best score under GOOD_SCORE: Ga1 counts twice in 4322/0180.
    Ga2's list is good. The others have no list: a feasible slot in their own occupation."""
    now = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    with unit_of_work(world.factory) as session:
        precomputed.insert_rows(session, [
            {"unit_id": gw.unit, "participant_id": gw.people[who], "slot_id": gw.slots[slot],
             "rank": 1, "score": score, "distance_km": 5.0, "model_version": "v-test",
             "computed_at": now}
            for who, slot, score in (("Ga1", "S4322", gaps.GOOD_SCORE - 0.2),
                                     ("Ga2", "S4322", gaps.GOOD_SCORE + 0.1))])
    data = _analyse(world, gw.unit)
    assert data["judged_by_stored_lists"] == 2
    assert data["lists_computed_at"].startswith("2026-11-01T04:00")
    assert _summary(data)[:2] == [
        ("5223", "0180", 2, 2, 2, 0, 4, 4, 2),
        ("4322", "0180", 3, 0, 1, 1, 4, 3, 2),
    ]


def test_an_added_place_closes_a_gap(world: World, gw: GapWorld) -> None:
    world.slot(gw.employers["E2"], title="Butikssäljare", occupation_code="5223", capacity=4)
    data = _analyse(world, gw.unit)
    assert ("5223", "0180") not in {(g[0], g[1]) for g in _summary(data)}


def test_pure_ranking_and_closeness() -> None:
    a = Seeker(1, "0180", ("4322",), {"4322": frozenset({10})}, True, 30)
    b = Seeker(2, "0180", ("4322",), {"4322": frozenset({10})}, False, 30)
    ranked = rank_gaps([a, b], {10: 1}, {"4322": ShortageIndex(4, 3)}, 5)
    assert len(ranked) == 1
    g: Gap = ranked[0]
    assert (g.demand, g.supply_places, g.shortfall, g.affected) == (3, 1, 2, 1)
    assert rank_gaps([a], {10: 1}, {}, 5) == []  # one good participant, one place: no gap
    assert (closeness("4322", "4321"), closeness("4322", "4311"), closeness("4322", "5223")) \
        == (3, 2, 0)


def test_bad_top_is_refused(world: World, gw: GapWorld) -> None:
    with unit_of_work(world.factory) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=world.settings)
        with pytest.raises(InvalidInput):
            gaps.analyse(ctx, gw.unit, 0)


def test_api_gaps_scoping_and_audit(client, world: World, gw: GapWorld, engine) -> None:
    cons = quick_user(world, Role.consultant, unit_id=gw.unit)
    other_unit = world.unit(kommuner=["0184"])
    stranger = quick_user(world, Role.consultant, unit_id=other_unit)
    url = f"{API}/units/{gw.unit}/gaps?top=2"
    r = client.get(url, headers=cons.headers)
    assert r.status_code == 200, r.text
    assert [g["occupation"]["code"] for g in r.json()["gaps"]] == ["5223", "9111"]
    assert_error(client.get(url, headers=stranger.headers), 404)
    assert_error(client.get(f"{API}/units/{gw.unit}/gaps?top=0", headers=cons.headers), 422)
    from sqlalchemy import select

    from matchning.storage.tables import AuditRow

    with make_session_factory(engine)() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.action == "gaps.read")).all()
    assert [(a.user_id, a.unit_id, a.detail) for a in rows] == [
        (cons.user_id, gw.unit, {"top": 2, "gaps": 2})]


def test_cli_gaps(cli_env: Path) -> None:
    from matchning.cli import app
    from matchning.config import get_settings
    from matchning.storage.db import engine_from_settings

    runner = CliRunner()
    assert runner.invoke(app, ["init-db"]).exit_code == 0
    s = get_settings()
    engine = engine_from_settings(s)
    gw = build_gap_world(World(make_session_factory(engine), s))
    engine.dispose()
    text = runner.invoke(app, ["gaps", "--unit", str(gw.unit)])
    assert text.exit_code == 0, text.output
    assert "5223 Butikssäljare, fackhandel" in text.output
    assert "ring: Dagligvaror Söder AB (3 siffror lika" in text.output
    data = json.loads(runner.invoke(app, ["gaps", "--unit", str(gw.unit), "--json"]).output)
    assert [g["shortfall"] for g in data["gaps"]] == [4, 2, 2]
    missing = runner.invoke(app, ["gaps", "--unit", "999"])
    assert missing.exit_code == 1 and "finns inte" in missing.output
