"""The console script's user, export, train and recommend commands against a real SQLite
file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from matchning.cli import app
from matchning.config import get_settings

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_users_and_tokens(cli_env: Path) -> None:
    assert "migrerad" in run("init-db")
    assert (cli_env / "matchning.sqlite3").exists()
    run("init-db")  # idempotent
    assert "Enhet 1" in run("users", "create-unit", "Södertälje AME", "--kommuner", "0181")
    out = run("users", "create", "kim@enheten.se", "--role", "consultant", "--unit", "1",
              "--password", "ett-bra-lösenord", "--token")
    assert "Token (visas bara nu): mt_" in out
    rows = [json.loads(line) for line in run("users", "list", "--json").splitlines()]
    assert rows == [{"id": 1, "email": "kim@enheten.se", "role": "consultant", "unit_id": 1,
                     "employer_id": None, "active": True, "live_tokens": 1}]
    assert run("users", "token", "kim@enheten.se").startswith("mt_")
    assert "2 token(s)" in run("users", "revoke", "kim@enheten.se")
    assert "inaktiverad" in run("users", "deactivate", "kim@enheten.se")

    bad = runner.invoke(app, ["users", "create", "x@y.se", "--role", "consultant",
                              "--unit", "99", "--password", "ett-bra-lösenord"])
    assert bad.exit_code == 1 and "unit_id" in bad.output
    short = runner.invoke(app, ["users", "password", "kim@enheten.se", "--password", "kort"])
    assert short.exit_code == 1 and "minst" in short.output
    unknown = runner.invoke(app, ["users", "create-unit", "X", "--kommuner", "9999"])
    assert unknown.exit_code == 1 and "Okänd kommunkod" in unknown.output


def test_export_by_internal_and_external_id(cli_env: Path) -> None:
    from matchning.domain.principal import SYSTEM
    from matchning.domain.records import ParticipantData, UnitData
    from matchning.services import participants, units
    from matchning.services.context import Context
    from matchning.storage.db import engine_from_settings, make_session_factory, unit_of_work

    run("init-db")
    s = get_settings()
    engine = engine_from_settings(s)
    with unit_of_work(make_session_factory(engine)) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=s)
        unit = units.create(ctx, UnitData(name="Enheten", kommuner=["0180"]))
        pid = participants.create(ctx, ParticipantData(
            unit_id=unit.id, external_id="AME-17", display_name="Åsa Öberg",
            kommunkod="0180", swedish_level="D", profile_text="Vill jobba med djur 🐕",
            gender="kvinna", birth_year=1990)).id
    engine.dispose()

    by_ext = json.loads(run("export", "--participant", "AME-17"))
    assert by_ext["participant"]["display_name"] == "Åsa Öberg"
    assert by_ext["participant"]["profile_text"] == "Vill jobba med djur 🐕"
    assert by_ext["monitoring"]["birth_year"] == 1990
    assert {"placements", "feedback", "audit"} <= set(by_ext)
    out = cli_env / "export.json"
    run("export", "--participant", str(pid), "--out", str(out))
    by_id = json.loads(out.read_text(encoding="utf-8"))
    assert by_id["participant"]["id"] == pid
    # the first export itself is in the audit trail of the second
    assert any(a["action"] == "participant.export" for a in by_id["audit"])
    missing = runner.invoke(app, ["export", "--participant", "finns-inte"])
    assert missing.exit_code == 1 and "finns inte" in missing.output


def stdout_of(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_train_then_recommend_by_internal_and_external_id(cli_env: Path) -> None:
    from matchning.domain.principal import SYSTEM
    from matchning.domain.records import ParticipantData, UnitData
    from matchning.services import participants, units
    from matchning.services.context import Context
    from matchning.storage.db import engine_from_settings, make_session_factory, unit_of_work

    run("init-db")
    # the world ends today: the rules judge slot periods by the real date
    run("demo", "--participants", "150", "--employers", "40", "--slots", "120", "--months",
        "12", "--seed", "7", "--today", datetime.now(UTC).date().isoformat())
    no_model = runner.invoke(app, ["recommend", "1"])
    assert no_model.exit_code == 1 and "ingen tränad matchningsmodell" in no_model.stderr
    assert no_model.stdout == ""

    # main() limits OpenMP to one thread; the runner calls the app directly
    with threadpool_limits(limits=1):
        trained = json.loads(stdout_of("train", "--json"))
        assert trained["activated"] is True
        assert trained["estimator"] in trained["validation"]
        assert (cli_env / "models" / trained["version"] / "metadata.json").is_file()

        (first, _), (second, ext) = _two_with_suggestions()
        lines = stdout_of("recommend", str(first), ext, "--k", "4", "--json").splitlines()
        rows = [json.loads(line) for line in lines]
        assert [r["participant_id"] for r in rows] == [str(first), ext]
        for r in rows:
            assert r["model_version"] == trained["version"]
            assert len(r["items"]) <= 4
            assert r["slot_ids"] == [i["slot"]["external_id"] or i["slot"]["id"]
                                     for i in r["items"]]
            assert [i["rank"] for i in r["items"]] == list(range(1, len(r["items"]) + 1))
            assert r["items"] and all(isinstance(i["score"], float) for i in r["items"])

        table = stdout_of("recommend", ext, "--k", "2").splitlines()
        assert table[0].startswith(f"Deltagare {ext} (id {second}) – modell {trained['version']}")
        assert "Poäng" in table[1] and len(table) == 2 + min(2, len(rows[1]["items"]))
        again = stdout_of("train")
        assert "inte aktiverad" in again and "Validering" in again

    unknown = runner.invoke(app, ["recommend", str(first), "finns-inte", "--json"])
    assert unknown.exit_code == 1 and unknown.stdout == ""  # all ids are checked first
    assert "finns-inte: ingen deltagare har det id:t" in unknown.stderr

    # an external id is unique only within a unit
    s = get_settings()
    engine = engine_from_settings(s)
    with unit_of_work(make_session_factory(engine)) as session:
        ctx = Context(session=session, principal=SYSTEM, settings=s)
        unit = units.create(ctx, UnitData(name="Grannenheten", kommuner=["2180"]))
        participants.create(ctx, ParticipantData(
            unit_id=unit.id, external_id=ext, display_name="Åsa Öberg",
            kommunkod="2180", swedish_level="D"))
    engine.dispose()
    twice = runner.invoke(app, ["recommend", ext])
    assert twice.exit_code == 1 and "flera enheter" in twice.stderr


def _two_with_suggestions() -> list[tuple[int, str]]:
    """Two waiting demo participants with at least one suggestion (nothing is committed)."""
    from matchning.domain.principal import SYSTEM
    from matchning.services import recommendations
    from matchning.services.context import Context
    from matchning.services.matcher import Matcher
    from matchning.storage.db import engine_from_settings, make_session_factory
    from matchning.storage.repositories import history

    s = get_settings()
    engine = engine_from_settings(s)
    try:
        with make_session_factory(engine)() as session:
            ctx = Context(session=session, principal=SYSTEM, settings=s,
                          matcher=Matcher(s.models_dir))
            found = []
            for person in history.participant_rows(session, status="väntande"):
                if recommendations.recommend(ctx, person.id, 1).items:
                    found.append((person.id, person.external_id))
                if len(found) == 2:
                    break
            session.rollback()
    finally:
        engine.dispose()
    assert len(found) == 2 and found[1][1]
    return found


def test_train_without_history_fails_clearly(cli_env: Path) -> None:
    run("init-db")
    result = runner.invoke(app, ["train"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Fel: Historiken räcker inte för att träna en modell")
    assert not list((cli_env / "models").glob("*"))
