"""The fairness report: the pure computation per group, and the report on a trained demo world
where one group is planted to be served worse (flagged) beside the world as generated and a
world whose groups are drawn at random (nothing flagged)."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from matchning.api.app import create_app
from matchning.cli import app as cli_app
from matchning.config import Settings, get_settings
from matchning.domain.principal import SYSTEM, Principal
from matchning.domain.vocab import ParticipantStatus, Role
from matchning.errors import Forbidden, InvalidInput, NotFound
from matchning.ml import fairness as F
from matchning.services import fairness, precompute
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.storage.db import make_session_factory
from matchning.storage.tables import AuditRow, MonitoringRow, ParticipantRow, PlacementRow
from tests.conftest import backend_engine, seed_and_train
from tests.factories import World
from tests.helpers_api import quick_user
from tests.helpers_pages import login

# --- the pure computation --------------------------------------------------------------------


def _people(groups: dict[str, tuple[int, int]], top: float = 0.5) -> pd.DataFrame:
    """group -> (waiting, of whom with at least k feasible suggestions), as gender."""
    rows = []
    for g, (n, ok) in groups.items():
        rows += [{"participant_id": len(rows) + i, "target_group": ["ungdom"], "gender": g,
                  "age_band": "25-34", "swedish_level": "C", "feasible": i < ok,
                  "top_score": top if i < ok else np.nan} for i in range(n)]
    return pd.DataFrame(rows)


def _placements(groups: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """group -> (ended placements, of which completed; half of those went on to work)."""
    rows = []
    for g, (n, done) in groups.items():
        rows += [{"participant_id": i, "target_group": [], "gender": g, "age_band": None,
                  "swedish_level": "C", "completed": i < done, "work_studies": i < done // 2}
                 for i in range(n)]
    return pd.DataFrame(rows)


def _by(results: list[F.GroupResult], dim: str) -> dict[str, F.GroupResult]:
    return {r.group: r for r in results if r.dimension == dim}


def test_a_group_served_far_worse_is_flagged_with_its_ratio():
    res = _by(F.group_results(_people({"kvinna": (40, 8), "man": (40, 38)}),
                              _placements({"kvinna": (100, 60), "man": (100, 62)})), "gender")
    women, men = res["kvinna"], res["man"]
    assert women.values["feasible_share"] == pytest.approx(0.2)
    assert women.ratios["feasible_share"] == pytest.approx(0.2 / 0.95)
    assert men.ratios["feasible_share"] == pytest.approx(1.0)
    assert women.flagged == ["feasible_share"]
    assert men.flagged == [] and men.uncertain == []
    assert women.ratios["completion_rate"] == pytest.approx(60 / 62)  # above the threshold


def test_below_the_threshold_in_small_groups_is_uncertain_not_flagged():
    # 4 of 6 against 6 of 6: a ratio of 0.67, but six people say little.
    res = _by(F.group_results(_people({"kvinna": (6, 4), "man": (6, 6)}), _placements({})),
              "gender")
    assert res["kvinna"].ratios["feasible_share"] == pytest.approx(4 / 6)
    assert res["kvinna"].flagged == []
    assert res["kvinna"].uncertain == ["feasible_share"]
    assert 0 < res["kvinna"].p_values["feasible_share"] < 1


def test_groups_under_five_are_counted_but_their_rates_withheld():
    res = _by(F.group_results(_people({"kvinna": (30, 30), "man": (30, 29), "annat": (2, 1)}),
                              _placements({"annat": (4, 0), "man": (20, 10)})), "gender")
    other = res["annat"]
    assert (other.waiting, other.placements) == (2, 4)
    assert set(other.suppressed) == set(F.LIVE_METRICS) | set(F.HISTORY_METRICS)
    assert all(v is None for v in other.values.values())
    assert all(v is None for v in other.ratios.values())
    assert other.flagged == [] and other.uncertain == []
    # A mean score resting on fewer than 5 people is withheld too, whatever the group's size.
    few = _by(F.group_results(_people({"kvinna": (30, 3), "man": (30, 30)}), _placements({})),
              "gender")["kvinna"]
    assert few.values["feasible_share"] == pytest.approx(0.1)
    assert few.values["top_score"] is None and "top_score" in few.suppressed
    # The small group is not the yardstick either: the best of the others is.
    assert res["man"].ratios["completion_rate"] == pytest.approx(1.0)


def test_several_target_groups_count_in_each_and_none_is_its_own_group():
    people = pd.DataFrame([
        {"participant_id": 1, "target_group": ["nyanländ", "försörjningsstöd"],
         "gender": None, "age_band": "-24", "swedish_level": "B", "feasible": True,
         "top_score": 0.4},
        {"participant_id": 2, "target_group": [], "gender": "man", "age_band": "-24",
         "swedish_level": "B", "feasible": False, "top_score": np.nan}])
    res = F.group_results(people, _placements({}), min_group=1)
    tg = _by(res, "target_group")
    assert set(tg) == {"nyanländ", "försörjningsstöd", F.NO_TARGET_GROUP}
    assert tg["nyanländ"].waiting == tg["försörjningsstöd"].waiting == 1
    genders = _by(res, "gender")
    assert set(genders) == {"man", F.UNKNOWN}
    # Only target groups count a person twice: each other dimension sums to the people.
    assert genders["man"].waiting == genders[F.UNKNOWN].waiting == 1
    assert sum(r.waiting for r in _by(res, "swedish_level").values()) == 2


def test_without_a_model_the_live_rates_stay_empty():
    res = F.group_results(_people({"kvinna": (10, 0)}), _placements({"kvinna": (10, 5)}),
                          live=False)
    women = _by(res, "gender")["kvinna"]
    assert women.values["feasible_share"] is None
    assert women.values["completion_rate"] == pytest.approx(0.5)


@pytest.mark.parametrize(("born", "year", "band"), [
    (2005, 2026, "-24"), (2001, 2026, "25-34"), (1990, 2026, "35-49"), (1976, 2026, "50-"),
    (None, 2026, F.UNKNOWN), (float("nan"), 2026, F.UNKNOWN)])
def test_age_bands(born, year, band):
    assert F.age_band(born, year) == band


def _code_words(path: Path) -> set[str]:
    """Names, attributes and string constants of a module, docstrings and comments left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)
            and isinstance(n.value, ast.Constant)}
    words: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            words.add(n.id)
        elif isinstance(n, ast.Attribute):
            words.add(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs:
            words.add(n.value)
    return words


def _ml_imports(path: Path) -> set[str]:
    """The matchning.ml modules a module imports."""
    out: set[str] = set()
    for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(n, ast.ImportFrom) and n.module:
            if n.module == "matchning.ml":
                out |= {a.name for a in n.names}
            elif n.module.startswith("matchning.ml."):
                out.add(n.module.split(".")[2])
    return out


def test_no_group_field_reaches_the_matching():
    """The monitoring fields and the target groups never reach the profile snapshot the model
    sees, the feature names, or the code of any ml module the matching runs on (the rules,
    features, model and reasons, and everything they import)."""
    from matchning.domain.snapshot import SNAPSHOT_FIELDS
    from matchning.ml.features import COLUMN

    group_fields = {"gender", "birth_year", "born_abroad", "target_groups", "target_group"}
    assert not group_fields & set(SNAPSHOT_FIELDS)
    for name in COLUMN:
        assert not set(name.split("_")) & {"gender", "birth", "age", "target", "abroad"}, name
    ml = Path(F.__file__).parent
    todo, seen = ["model", "rules", "rules_check", "features", "ranker", "reasons",
                  "profiles", "catalog", "batch"], set()
    while todo:
        name = todo.pop()
        if name in seen or not (ml / f"{name}.py").exists():
            continue
        seen.add(name)
        todo += _ml_imports(ml / f"{name}.py")
    assert {"model", "features", "rules"} <= seen and "fairness" not in seen
    for name in seen:
        assert not group_fields & _code_words(ml / f"{name}.py"), name


# --- the report on a trained demo world ------------------------------------------------------

@dataclass
class Trained:
    engine: Engine
    settings: Settings
    unit_id: int
    matcher: Matcher
    path: Path | None  # the SQLite file (None on PostgreSQL)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose changes are rolled back afterwards."""
        session = make_session_factory(self.engine)()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def ctx(self, session: Session, principal: Principal = SYSTEM) -> Context:
        return Context(session=session, principal=principal, settings=self.settings,
                       matcher=self.matcher)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            frozen_day: None) -> Iterator[Trained]:
    tmp = tmp_path_factory.mktemp("fairness")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        _, unit_id = seed_and_train(engine, settings)
        path = tmp / "test.sqlite3" if request.param == "sqlite" else None
        yield Trained(engine, settings, unit_id, Matcher(settings.models_dir), path)


def _flagged(report: fairness.FairnessReport) -> set[tuple[str, str, str]]:
    return {(g.dimension, g.group, m) for g in report.groups for m in g.flagged}


def test_the_world_as_generated_flags_nothing_by_gender(trained):
    """The generator draws gender independently of everything else."""
    with trained.session() as s:
        report = fairness.report(trained.ctx(s), trained.unit_id)
    assert report.source == fairness.LIVE and report.model_version
    assert report.waiting > 40 and report.placements > 300
    for dim in ("gender", "age_band", "swedish_level"):
        groups = [g for g in report.groups if g.dimension == dim]
        assert sum(g.waiting for g in groups) == report.waiting, dim
        assert sum(g.placements for g in groups) == report.placements, dim
    assert not {f for f in _flagged(report) if f[0] == "gender"}
    genders = {g.group: g for g in report.groups if g.dimension == "gender"}
    assert genders["kvinna"].waiting >= 5 and genders["man"].waiting >= 5


def _shuffle_groups(s: Session, seed: int) -> None:
    """Give every participant the groups of another, drawn at random: no group can be served
    worse than another except by chance."""
    rng = np.random.default_rng(seed)
    people = s.execute(select(ParticipantRow.id, ParticipantRow.target_groups)).all()
    order = rng.permutation(len(people))
    for (pid, _), j in zip(people, order, strict=True):
        s.execute(update(ParticipantRow).where(ParticipantRow.id == pid)
                  .values(target_groups=people[j][1]))
    mon = s.execute(select(MonitoringRow.participant_id, MonitoringRow.gender,
                           MonitoringRow.birth_year)).all()
    order = rng.permutation(len(mon))
    for (pid, _, _), j in zip(mon, order, strict=True):
        s.execute(update(MonitoringRow).where(MonitoringRow.participant_id == pid)
                  .values(gender=mon[j][1], birth_year=mon[j][2]))


def test_a_world_with_groups_drawn_at_random_flags_nothing(trained):
    with trained.session() as s:
        _shuffle_groups(s, seed=3)
        report = fairness.report(trained.ctx(s), trained.unit_id)
    fair_dims = {"target_group", "gender", "age_band"}
    assert not {f for f in _flagged(report) if f[0] in fair_dims}
    assert {g.dimension for g in report.groups} == set(F.DIMENSIONS)


def _plant_disparity(s: Session, ref, gender: str = "kvinna") -> None:
    """The women of the unit are served worse: those waiting live in Kiruna, far from every
    slot, and their completed placements were aborted instead."""
    women = select(MonitoringRow.participant_id).where(MonitoringRow.gender == gender)
    kiruna = ref.municipalities["2584"]
    s.execute(update(ParticipantRow).where(ParticipantRow.id.in_(women),
                                           ParticipantRow.status == ParticipantStatus.waiting.value)
              .values(kommunkod="2584", postcode=None, lat=kiruna.lat, lon=kiruna.lon))
    s.execute(update(PlacementRow).where(PlacementRow.participant_id.in_(women),
                                         PlacementRow.status == "completed")
              .values(status="aborted", abort_reason="sjukdom", outcome=None))


def test_a_planted_disparity_is_flagged(trained):
    with trained.session() as s:
        ctx = trained.ctx(s)
        _plant_disparity(s, ctx.ref)
        report = fairness.report(ctx, trained.unit_id)
        audit = s.execute(select(AuditRow.subject_type, AuditRow.unit_id, AuditRow.detail)
                          .where(AuditRow.action == "fairness.read")).all()
    genders = {g.group: g for g in report.groups if g.dimension == "gender"}
    women = genders["kvinna"]
    assert women.values["feasible_share"] == 0
    assert women.values["completion_rate"] is not None
    assert {"feasible_share", "completion_rate"} <= set(women.flagged)
    assert genders["man"].flagged == []
    # Only women were moved: the other dimensions are not all flagged at once.
    assert women.ratios["feasible_share"] == 0
    # The read is audited, with what was flagged and no person named.
    assert len(audit) == 1
    subject_type, unit_id, detail = audit[0]
    assert subject_type == "unit" and unit_id == trained.unit_id
    assert "gender:kvinna" in detail["flagged"]


def test_current_nightly_lists_give_the_same_report_as_live(trained):
    with trained.session() as s:
        ctx = trained.ctx(s)
        live = fairness.report(ctx, trained.unit_id, k=3)
        precompute.precompute(ctx, trained.unit_id, k=10)
        stored = fairness.report(ctx, trained.unit_id, k=3)
        assert stored.source == fairness.STORED
        for a, b in zip(live.groups, stored.groups, strict=True):
            assert (a.dimension, a.group, a.waiting) == (b.dimension, b.group, b.waiting)
            for m in F.LIVE_METRICS:
                assert a.values[m] == pytest.approx(b.values[m], abs=1e-6)
        # A run that stored fewer than k per person cannot say who has k: ranked live.
        precompute.precompute(ctx, trained.unit_id, k=2)
        assert fairness.report(ctx, trained.unit_id, k=3).source == fairness.LIVE


def test_scope_and_bad_settings(trained):
    with trained.session() as s:
        admin = Principal(user_id=1, email="a@x.se", role=Role.unit_admin,
                          unit_id=trained.unit_id)
        consultant = Principal(user_id=2, email="k@x.se", role=Role.consultant,
                               unit_id=trained.unit_id)
        assert fairness.report(trained.ctx(s, admin)).units[0][0] == trained.unit_id
        with pytest.raises(NotFound):
            fairness.report(trained.ctx(s, admin), trained.unit_id + 99)
        with pytest.raises(Forbidden):
            fairness.report(trained.ctx(s, consultant))
        with pytest.raises(NotFound):
            fairness.report(trained.ctx(s), 9999)
        for k, threshold in ((0, 0.8), (21, 0.8), (3, 0.0), (3, 1.5)):
            with pytest.raises(InvalidInput):
                fairness.report(trained.ctx(s), trained.unit_id, k, threshold)


def test_api_and_page(trained):
    world = World(make_session_factory(trained.engine), trained.settings)
    admin = world.user(Role.unit_admin, unit_id=trained.unit_id, email="admin@fair.se",
                       password="rättvisa-för-alla-1")
    consultant = quick_user(world, Role.consultant, unit_id=trained.unit_id)
    with TestClient(create_app(settings=trained.settings, engine=trained.engine)) as client:
        r = client.get("/api/v1/fairness?k=2&threshold=0.75", headers=admin.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["k"], body["threshold"], body["min_group"]) == (2, 0.75, 5)
        small = [g for g in body["groups"] if 0 < g["waiting"] < 5]
        assert small, "the demo world has small groups (gender 'annat')"
        for g in small:
            assert g["values"]["feasible_share"] is None
            assert "feasible_share" in g["suppressed"]
        r = client.get("/api/v1/fairness?threshold=2", headers=admin.headers)
        assert r.status_code == 422
        r = client.get("/api/v1/fairness", headers=consultant.headers)
        assert r.status_code == 403
        assert "rättviserapporten" in r.json()["error"]["message"]
        assert login(client, "admin@fair.se", "rättvisa-för-alla-1").status_code == 303
        page = client.get("/enhet/rattvisa?k=2")
        assert page.status_code == 200, page.text
        assert "Målgrupp" in page.text and "Svenskanivå" in page.text
        assert "färre än 5 personer" in page.text and "för få" in page.text
        assert client.get("/enhet/rattvisa?troskel=abc").status_code == 422
        assert client.get("/enhet/rattvisa?troskel=1,5").status_code == 422


def test_cli_table_and_json(trained, monkeypatch: pytest.MonkeyPatch):
    if trained.path is None:
        pytest.skip("the CLI test reads the SQLite file")
    monkeypatch.setenv("MATCHNING_DATABASE_URL", f"sqlite:///{trained.path}")
    monkeypatch.setenv("MATCHNING_MODELS_DIR", str(trained.settings.models_dir))
    monkeypatch.setenv("MATCHNING_SECRET_KEY", "cli-test-secret")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = runner.invoke(cli_app, ["fairness", "--unit", "demo-u-1", "--json"])
        assert out.exit_code == 0, out.output
        body = json.loads(out.output)
        assert body["units"][0]["id"] == trained.unit_id
        assert {g["dimension"] for g in body["groups"]} == set(F.DIMENSIONS)
        table = runner.invoke(cli_app, ["fairness", "--k", "2"])
        assert table.exit_code == 0, table.output
        assert "Målgrupp" in table.output and "Flaggade:" in table.output
        bad = runner.invoke(cli_app, ["fairness", "--unit", "finns-inte"])
        assert bad.exit_code == 1 and "finns inte" in bad.output
    finally:
        get_settings.cache_clear()
