"""The console script's user and export commands against a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matchning.cli import app
from matchning.config import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MATCHNING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MATCHNING_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("MATCHNING_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


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
