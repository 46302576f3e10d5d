"""The results report on a world whose figures are known exactly (tests/results_world.py),
on SQLite and PostgreSQL: every figure, the breakdowns, the quarters, the previous period,
the suppressed exports and the surfaces (service, API, CLI, pages)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from matchning.domain.principal import SYSTEM
from matchning.domain.results import Period
from matchning.domain.vocab import Role
from matchning.errors import Forbidden, InvalidInput, NotFound
from matchning.services import results, results_export
from matchning.services.context import Context
from matchning.storage.db import make_session_factory, unit_of_work
from matchning.storage.tables import AuditRow
from tests.factories import World
from tests.helpers_api import API, assert_error, quick_user
from tests.results_world import PERIOD, ResultsWorld, build_results_world

ZERO_OUTCOMES = {"arbete": 0, "studier": 0, "annan insats": 0, "övrigt": 0}
ZERO_REASONS = {"fick arbete": 0, "hälsa": 0, "matchade inte": 0, "arbetsgivaren avbröt": 0,
                "deltagaren avbröt": 0, "övrigt": 0}


@pytest.fixture
def rw(world: World) -> ResultsWorld:
    return build_results_world(world)


def _report(world: World, unit_id: int, period: Period = PERIOD) -> results.UnitReport:
    with unit_of_work(world.factory) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=world.settings)
        return results.unit_report(ctx, unit_id, period)


def test_every_figure_of_the_total_and_the_previous_period(world: World, rw: ResultsWorld
                                                           ) -> None:
    ur = _report(world, rw.unit_a)
    rep = ur.report
    assert rep.previous_period == Period(date(2025, 7, 4), date(2025, 12, 31))
    assert rep.total.current.as_dict() == {
        "people": 6, "served": 6, "exits": 4,
        "exits_by_outcome": {"arbete": 1, "studier": 1, "annan insats": 1, "övrigt": 1},
        "work_or_studies": 2, "work_or_studies_share": 0.5,
        "proposed": 6, "accepted": 4, "declined": 1, "withdrawn": 0, "started": 4,
        "completed": 3, "aborted": 2,
        "aborted_by_reason": {**ZERO_REASONS, "hälsa": 1, "fick arbete": 1},
        "completed_to_work": 2, "completed_to_work_share": pytest.approx(2 / 3),
        "days_to_first_placement": 64.0, "days_to_first_placement_n": 4,  # 19 22 106 130
        "days_proposal_to_start": 10.0, "days_proposal_to_start_n": 4,    # 9 10 10 12
    }
    assert rep.total.previous.as_dict() == {
        "people": 4, "served": 4, "exits": 1,
        "exits_by_outcome": {**ZERO_OUTCOMES, "arbete": 1},
        "work_or_studies": 1, "work_or_studies_share": 1.0,
        "proposed": 3, "accepted": 2, "declined": 0, "withdrawn": 1, "started": 2,
        "completed": 1, "aborted": 0, "aborted_by_reason": ZERO_REASONS,
        "completed_to_work": 1, "completed_to_work_share": 1.0,
        "days_to_first_placement": 55.0, "days_to_first_placement_n": 2,  # 19 91
        "days_proposal_to_start": 10.5, "days_proposal_to_start_n": 2,    # 10 11
    }
    assert rep.quarters == [
        ("2026 K1", {**ZERO_OUTCOMES, "arbete": 1}),
        ("2026 K2", {"arbete": 0, "studier": 1, "annan insats": 1, "övrigt": 1}),
    ]


def _groups(ur: results.UnitReport, dim: str) -> dict[str, tuple]:
    return {g.key: (g.current, g.previous) for g in ur.report.breakdowns[dim]}


def test_breakdowns_by_target_group_kommun_consultant_and_occupation(world: World,
                                                                     rw: ResultsWorld) -> None:
    ur = _report(world, rw.unit_a)
    by_group = _groups(ur, "malgrupp")
    assert set(by_group) == {"ungdom", "nyanländ", "försörjningsstöd", "långtidsarbetslös",
                             "ingen"}
    youth, youth_before = by_group["ungdom"]
    assert (youth.served, youth.exits, youth.work_or_studies_share) == (3, 2, 1.0)
    assert (youth.proposed, youth.accepted, youth.started, youth.completed,
            youth.completed_to_work, youth.aborted) == (2, 2, 2, 2, 1, 1)
    assert youth.aborted_by_reason["fick arbete"] == 1
    assert (youth.days_to_first_placement, youth.people) == (118.0, 3)  # 106 and 130
    assert (youth_before.served, youth_before.started, youth_before.withdrawn) == (3, 1, 1)
    new, _ = by_group["nyanländ"]
    assert (new.served, new.exits, new.work_or_studies_share) == (2, 2, 0.0)
    assert (new.proposed, new.accepted, new.declined, new.started, new.completed,
            new.completed_to_work) == (3, 2, 1, 2, 1, 1)
    assert (new.aborted_by_reason["hälsa"], new.days_to_first_placement) == (1, 20.5)
    long_term, long_before = by_group["långtidsarbetslös"]
    assert (long_term.served, long_term.people) == (0, 0)
    assert (long_before.served, long_before.exits, long_before.completed) == (1, 1, 1)
    none, _ = by_group["ingen"]
    assert (none.served, none.proposed) == (1, 1)  # P6 (P8 left before both periods)

    kommun = _groups(ur, "kommun")
    assert set(kommun) == {"0180", "0184"}
    assert (kommun["0180"][0].served, kommun["0180"][0].exits) == (4, 2)
    assert (kommun["0184"][0].served, kommun["0184"][0].exits,
            kommun["0184"][0].proposed) == (2, 2, 3)

    cons = _groups(ur, "konsulent")
    assert set(cons) == {str(rw.c1), str(rw.c2)}  # P8 (no consultant) is in neither period
    assert (cons[str(rw.c1)][0].served, cons[str(rw.c1)][0].exits) == (3, 2)
    assert (cons[str(rw.c2)][0].served, cons[str(rw.c2)][0].exits) == (3, 2)
    assert ur.labels["konsulent"][str(rw.c1)] == "Test"

    occ = _groups(ur, "yrkesgrupp")
    assert set(occ) == {"432", "522", "911"}
    store, _ = occ["432"]  # persons by first wish, placements by the slot's occupation
    assert (store.served, store.exits, store.work_or_studies_share) == (3, 2, 0.5)
    assert (store.proposed, store.accepted, store.started, store.completed,
            store.completed_to_work, store.aborted) == (1, 1, 1, 1, 1, 1)
    assert (store.days_to_first_placement, store.days_proposal_to_start) == (76.0, 12.0)
    shop, _ = occ["522"]
    assert (shop.served, shop.exits, shop.proposed, shop.accepted, shop.started) == \
        (2, 1, 3, 2, 2)
    assert (shop.completed, shop.completed_to_work, shop.days_proposal_to_start) == \
        (1, 0, 9.5)
    clean, _ = occ["911"]
    assert (clean.proposed, clean.declined, clean.completed_to_work) == (2, 1, 1)
    assert ur.labels["yrkesgrupp"]["432"].startswith("432 ")


def test_other_unit_and_empty_period(world: World, rw: ResultsWorld) -> None:
    b = _report(world, rw.unit_b)
    assert (b.report.total.current.served, b.report.total.current.completed) == (1, 1)
    assert results_export.to_json(b)["quarters"] == []  # a total of 1 person: hidden
    empty = _report(world, rw.unit_a, Period(date(2020, 1, 1), date(2020, 3, 31)))
    assert empty.report.total.current.people == 0
    assert empty.report.total.current.work_or_studies_share is None
    assert empty.report.total.current.days_to_first_placement is None
    assert all(not groups for groups in empty.report.breakdowns.values())


def test_csv_export_suppresses_groups_under_five_and_thin_medians(world: World,
                                                                  rw: ResultsWorld) -> None:
    ur = _report(world, rw.unit_a)
    rows = list(csv.reader(io.StringIO(results_export.to_csv(ur)), delimiter=";"))
    head, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(head)}
    total_now, total_before = body[0], body[1]
    assert (total_now[col["Uppdelning"]], total_now[col["Period"]]) == ("Totalt", "aktuell")
    assert total_now[col["Personer"]] == "6"
    assert total_now[col["Avslut"]] == "4"
    assert total_now[col["Andel av avsluten till arbete eller studier"]] == "0,5"
    assert total_now[col["Andel fullföljda placeringar följda av arbete"]] == "0,667"
    # Medians over 4 people are blanked even in a group of 6.
    assert total_now[col["Median dagar från inskrivning till första placering"]] == ""
    assert total_now[col["Median dagar från förslag till start"]] == ""
    assert total_now[col["Anmärkning"]] == ""
    # The previous period has 4 people: every figure blanked.
    assert total_before[col["Personer"]] == "<5"
    assert total_before[col["Avslut"]] == "" and total_before[col["Placeringar startade"]] == ""
    assert total_before[col["Anmärkning"]] == "färre än 5 personer"
    # Every group of this small world is under 5 people: all blanked, none left out.
    groups = body[2:]
    assert len(groups) == 2 * (5 + 2 + 2 + 3)
    assert all(r[col["Personer"]] == "<5" for r in groups)
    assert all(all(r[col[label]] == "" for _, label in results_export.METRICS) for r in groups)


def test_markdown_and_json_exports_suppress_too(world: World, rw: ResultsWorld) -> None:
    ur = _report(world, rw.unit_a)
    md = results_export.to_markdown(ur)
    assert "| Avslut | 4 | – |" in md
    assert "| Avslut: arbete | 1 | – |" in md
    assert "| ungdom | <5 (<5) |" in md
    data = results_export.to_json(ur)
    assert data["total"]["current"]["exits"] == 4
    assert [q["quarter"] for q in data["quarters"]] == ["2026 K1", "2026 K2"]
    before = data["total"]["previous"]
    assert before.pop("suppressed") is True and before.pop("small") is True
    assert set(before.values()) == {None}
    raw = results_export.to_json(ur, suppress=False)
    assert raw["total"]["previous"]["exits"] == 1 and raw["total"]["previous"]["small"]


def test_bad_input_and_access(world: World, rw: ResultsWorld) -> None:
    with unit_of_work(world.factory) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=world.settings)
        with pytest.raises(InvalidInput) as bad:
            results.period_of(ctx, "2026-06-30", "2026-01-01")
        assert bad.value.details[0]["field"] == "from"
        with pytest.raises(InvalidInput) as bad_day:
            results.period_of(ctx, "2026-02-30", None)
        assert "ÅÅÅÅ-MM-DD" in bad_day.value.details[0]["message"]
        with pytest.raises(InvalidInput):
            results.period_of(ctx, "1990-01-01", "2026-01-01")
        with pytest.raises(NotFound):
            results.unit_report(ctx, 9999, PERIOD)
        default = results.period_of(ctx, None, "2026-06-30")
        assert default == Period(date(2025, 7, 1), date(2026, 6, 30))
    emp = world.employer(name="Någon AB")
    employer = quick_user(world, Role.employer, employer_id=emp)
    from matchning.services import users

    with unit_of_work(world.factory) as session:
        principal = users.authenticate_token(session, employer.token, datetime.now(UTC))
        ctx = Context(session=session, principal=principal, settings=world.settings)
        with pytest.raises(Forbidden):
            results.unit_report(ctx, rw.unit_a, PERIOD)


def test_api_report_scoping_audit_and_csv(client, world: World, rw: ResultsWorld,
                                          engine) -> None:
    cons_a = quick_user(world, Role.consultant, unit_id=rw.unit_a)
    cons_b = quick_user(world, Role.consultant, unit_id=rw.unit_b)
    url = f"{API}/units/{rw.unit_a}/report?from=2026-01-01&to=2026-06-30"
    r = client.get(url, headers=cons_a.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"]["current"]["exits"] == 4
    assert body["total"]["previous"]["exits"] == 1  # the API's JSON is not suppressed
    assert body["total"]["previous"]["small"] is True
    assert {g["key"] for g in body["breakdowns"]["malgrupp"]} >= {"ungdom", "nyanländ"}
    assert_error(client.get(url, headers=cons_b.headers), 404)
    assert_error(client.get(url), 401)
    assert_error(client.get(f"{API}/units/{rw.unit_a}/report?from=2026-07-01&to=2026-01-01",
                            headers=cons_a.headers), 422, field="from")
    assert_error(client.get(f"{API}/units/{rw.unit_a}/report?to=31/12/2026",
                            headers=cons_a.headers), 422, field="to")
    assert_error(client.get(f"{API}/units/424242/report", headers=cons_a.headers), 404)
    csv_r = client.get(url + "&format=csv", headers=cons_a.headers)
    assert csv_r.status_code == 200 and csv_r.headers["content-type"].startswith("text/csv")
    assert "<5" in csv_r.text
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.action.like("report.%"))
                               .order_by(AuditRow.id)).all()
    assert [(a.action, a.user_id, a.unit_id, a.subject_id) for a in rows] == [
        ("report.read", cons_a.user_id, rw.unit_a, str(rw.unit_a)),
        ("report.export", cons_a.user_id, rw.unit_a, str(rw.unit_a))]
    assert rows[1].detail == {"from": "2026-01-01", "to": "2026-06-30", "format": "csv"}


def test_cli_report_formats_and_errors(cli_env: Path) -> None:
    from matchning.cli import app
    from matchning.config import get_settings
    from matchning.storage.db import engine_from_settings

    runner = CliRunner()
    assert runner.invoke(app, ["init-db"]).exit_code == 0
    s = get_settings()
    engine = engine_from_settings(s)
    rw = build_results_world(World(make_session_factory(engine), s))
    engine.dispose()
    base = ["report", "--unit", str(rw.unit_a), "--from", "2026-01-01", "--to", "2026-06-30"]
    md = runner.invoke(app, base)
    assert md.exit_code == 0, md.output
    assert "| Avslut till arbete eller studier | 2 | – |" in md.output
    out = cli_env / "r.csv"
    done = runner.invoke(app, [*base, "--format", "csv", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert out.read_text("utf-8").startswith("Uppdelning;Grupp;Period")
    js = json.loads(runner.invoke(app, [*base, "--format", "json"]).output)
    assert js["total"]["current"]["served"] == 6 and js["total"]["previous"]["served"] is None
    bad = runner.invoke(app, ["report", "--unit", str(rw.unit_a), "--from", "2026-07-01",
                              "--to", "2026-01-01"])
    assert bad.exit_code == 1 and "Från-datumet ligger efter till-datumet" in bad.output
    unknown = runner.invoke(app, ["report", "--unit", "ingen-sådan"])
    assert unknown.exit_code == 1 and "finns inte" in unknown.output
    fmt = runner.invoke(app, [*base, "--format", "xlsx"])
    assert fmt.exit_code == 1 and "md, csv eller json" in fmt.output


def test_periods_and_quarters_across_a_year_end() -> None:
    from matchning.domain.results import PersonFact, quarterly_exits

    p = Period(date(2025, 11, 15), date(2026, 2, 10))
    assert p.days == 88 and p.previous() == Period(date(2025, 8, 19), date(2025, 11, 14))
    people = [PersonFact(i, date(2025, 1, 1), outcome, day, "0180", None)
              for i, (outcome, day) in enumerate([
                  ("arbete", date(2025, 11, 14)),   # the day before: not counted
                  ("arbete", date(2025, 11, 15)), ("studier", date(2025, 12, 31)),
                  ("övrigt", date(2026, 1, 1)), ("arbete", date(2026, 2, 10)),
                  ("arbete", date(2026, 2, 11))])]  # the day after: not counted
    assert quarterly_exits(people, p) == [
        ("2025 K4", {"arbete": 1, "studier": 1, "annan insats": 0, "övrigt": 0}),
        ("2026 K1", {"arbete": 1, "studier": 0, "annan insats": 0, "övrigt": 1})]
