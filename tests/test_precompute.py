"""`matchning precompute`: stored top-k lists, locally and on a Dask LocalCluster.

The small trained demo world (TRAINED_WORLD) is seeded once per backend; each test runs on one
connection rolled back afterwards, with a fresh Matcher. The cluster is one in-process worker
that talks over TCP, so everything sent to it is serialised as on a real cluster while the test
stays light on a shared 2-core machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from matchning.cli import app as cli_app
from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.domain.records import ParticipantData, UnitData
from matchning.domain.snapshot import SNAPSHOT_FIELDS
from matchning.domain.vocab import ParticipantStatus
from matchning.errors import ModelUnavailable, NotFound, ServiceUnavailable
from matchning.ml import batch
from matchning.services import participants, precompute, recommendations, units
from matchning.services.context import Context
from matchning.services.matcher import Matcher
from matchning.storage.repositories import precomputed
from matchning.storage.tables import (
    ActiveModelRow,
    ParticipantRow,
    PrecomputedSuggestionRow,
    SlotRow,
)
from tests.conftest import DEMO_TODAY, backend_engine, seed_and_train

K = 5
NOON = datetime(DEMO_TODAY.year, DEMO_TODAY.month, DEMO_TODAY.day, 12, tzinfo=UTC)


@dataclass
class Trained:
    engine: Engine
    settings: Settings
    version: str
    unit_id: int


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            frozen_day: None) -> Iterator[Trained]:
    tmp = tmp_path_factory.mktemp("precompute")
    settings = Settings(environment="test", data_dir=tmp, models_dir=tmp / "models",
                        secret_key="test-secret-key")
    with backend_engine(request, tmp) as engine:
        result, unit_id = seed_and_train(engine, settings)
        yield Trained(engine, settings, result.version, unit_id)


@pytest.fixture
def session(trained: Trained) -> Iterator[Session]:
    """A session on one connection whose transaction is rolled back after the test."""
    conn = trained.engine.connect()
    outer = conn.begin()
    factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    s = factory()
    try:
        yield s
    finally:
        s.close()
        outer.rollback()
        conn.close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A LocalCluster with one worker in this process, talking over TCP. Two threads: joblib
    runs everything in the calling process when the cluster has a single thread."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://",
                      dashboard_address=None) as c:
        yield c


def ctx_of(trained: Trained, session: Session, scheduler: str | None = None) -> Context:
    settings = trained.settings.model_copy(update={"dask_scheduler": scheduler})
    return Context(session=session, principal=SYSTEM, settings=settings,
                   matcher=Matcher(settings.models_dir))


def stored(session: Session) -> list[tuple]:
    """Every stored row, in a fixed order, as plain values."""
    T = PrecomputedSuggestionRow
    return [tuple(r) for r in session.execute(
        select(T.unit_id, T.participant_id, T.rank, T.slot_id, T.score, T.distance_km,
               T.model_version, T.computed_at).order_by(T.participant_id, T.rank))]


def waiting_ids(session: Session, unit_id: int) -> list[int]:
    return list(session.scalars(select(ParticipantRow.id).where(
        ParticipantRow.unit_id == unit_id,
        ParticipantRow.status == ParticipantStatus.waiting.value).order_by(ParticipantRow.id)))


@contextmanager
def precompute_cli_env(trained: Trained, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from matchning.config import get_settings

    url = trained.engine.url
    if url.get_backend_name() == "postgresql":  # the test process's own schema
        from tests.conftest import _pg_schema_url

        url = url.update_query_dict({"options": f"-csearch_path={_pg_schema_url()}"})
    monkeypatch.setenv("MATCHNING_DATABASE_URL", url.render_as_string(hide_password=False))
    monkeypatch.setenv("MATCHNING_MODELS_DIR", str(trained.settings.models_dir))
    monkeypatch.setenv("MATCHNING_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("MATCHNING_DASK_SCHEDULER", raising=False)
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()


# --- the ranking ----------------------------------------------------------------------------

def test_dask_cluster_stores_what_the_local_run_and_recommend_give(
        trained: Trained, session: Session, cluster: Any) -> None:
    local = precompute.precompute(ctx_of(trained, session), k=K)
    assert local.backend == "lokal"
    local_rows = stored(session)

    # Small chunks on the cluster: several tasks, and the chunking must not change a row.
    address = cluster.scheduler_address
    on_dask = precompute.precompute(ctx_of(trained, session, address), k=K, chunk_size=7)
    assert on_dask.backend == f"dask {address}"
    assert any(name.startswith("batch_of_rank_chunk") for name in cluster.scheduler.task_prefixes)
    assert stored(session) == local_rows
    assert on_dask.participants == local.participants > 7 * 3
    assert on_dask.rows == local.rows == len(local_rows)

    ctx = ctx_of(trained, session)
    lists = precomputed.lists_for_unit(session, trained.unit_id)
    with_list = [pid for pid, items in lists.items() if len(items) == K]
    assert len(with_list) >= 3
    for pid in with_list[:2] + with_list[-1:]:
        live = recommendations.recommend(ctx, pid, K)
        assert [(i["rank"], i["slot"]["id"], i["score"], i["distance_km"]) for i in live.items] \
            == [(s.rank, s.slot_id, round(s.score, 4), round(s.distance_km, 1))
                for s in lists[pid]]


def test_each_participant_is_ranked_under_their_own_units_rules(
        trained: Trained, session: Session) -> None:
    """A twin of a unit's participant in a unit that suggests only slots starting by tomorrow:
    the one local chunk holds both units, and each list is the one `recommend` gives."""
    ctx = ctx_of(trained, session)
    precompute.precompute(ctx, unit_id=trained.unit_id, k=K)
    lists = precomputed.lists_for_unit(session, trained.unit_id)
    later = set(session.scalars(select(SlotRow.id).where(
        SlotRow.start_date > DEMO_TODAY + timedelta(days=1))))
    original = next(pid for pid, items in lists.items()
                    if any(s.slot_id in later for s in items))
    person = session.get(ParticipantRow, original)
    assert person is not None
    strict = units.create(ctx, UnitData(name="Strikta enheten", kommuner=[person.kommunkod],
                                        settings={"start_horizon_days": 1}))
    fields = {f: getattr(person, f) for f in SNAPSHOT_FIELDS}
    twin = participants.create(ctx, ParticipantData(
        unit_id=strict.id, display_name="Tvilling", adaptations_consent_date=(
            person.adaptations_consent_date), **fields)).id

    precompute.precompute(ctx, k=K)
    stored_twin = precomputed.lists_for_unit(session, strict.id)[twin]
    stored_original = precomputed.lists_for_unit(session, trained.unit_id)[original]
    assert not {s.slot_id for s in stored_twin} & later
    assert [s.slot_id for s in stored_twin] != [s.slot_id for s in stored_original]
    for pid, items in ((twin, stored_twin), (original, stored_original)):
        live = recommendations.recommend(ctx, pid, K)
        assert [i["slot"]["id"] for i in live.items] == [s.slot_id for s in items]


def test_every_waiting_participant_gets_a_list_of_feasible_length(
        trained: Trained, session: Session) -> None:
    result = precompute.precompute(ctx_of(trained, session), unit_id=trained.unit_id, k=K)
    waiting = waiting_ids(session, trained.unit_id)
    assert [(u.unit_id, u.participants) for u in result.units] == [(trained.unit_id,
                                                                    len(waiting))]
    lists = precomputed.lists_for_unit(session, trained.unit_id)
    assert set(lists) <= set(waiting)
    ctx = ctx_of(trained, session)
    for pid in waiting[:5]:
        feasible = recommendations.recommend(ctx, pid, 1).feasible
        assert len(lists.get(pid, [])) == min(K, feasible)
    for items in lists.values():
        assert [s.rank for s in items] == list(range(1, len(items) + 1))
        scores = [s.score for s in items]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


def test_model_version_and_time_are_stored(trained: Trained, session: Session) -> None:
    result = precompute.precompute(ctx_of(trained, session), k=K)
    assert result.model_version == trained.version and result.computed_at == NOON
    rows = stored(session)
    assert rows and {(r[6], r[7]) for r in rows} == {(trained.version, NOON)}


# --- replacing ------------------------------------------------------------------------------

def test_a_second_run_replaces_the_lists(trained: Trained, session: Session) -> None:
    ctx = ctx_of(trained, session)
    precompute.precompute(ctx, unit_id=trained.unit_id, k=K)
    first = stored(session)
    precompute.precompute(ctx, unit_id=trained.unit_id, k=K)
    assert stored(session) == first  # not duplicated

    # Someone placed since: their list goes; a smaller k shortens every list.
    gone = first[0][1]
    session.execute(update(ParticipantRow).where(ParticipantRow.id == gone)
                    .values(status=ParticipantStatus.in_practice.value))
    precompute.precompute(ctx, unit_id=trained.unit_id, k=2)
    again = stored(session)
    assert gone not in {r[1] for r in again}
    assert again == [r for r in first if r[1] != gone and r[2] <= 2]


def test_all_units_when_no_unit_is_given(trained: Trained, session: Session) -> None:
    result = precompute.precompute(ctx_of(trained, session), k=K)
    count = session.scalar(select(func.count()).select_from(PrecomputedSuggestionRow))
    assert trained.unit_id in [u.unit_id for u in result.units] and result.rows == count > 0


def test_the_scheduler_stores_the_nightly_lists(trained: Trained, session: Session) -> None:
    from matchning.jobs.scheduler import precompute_job

    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    precompute_job(factory, trained.settings)
    versions = set(session.scalars(select(PrecomputedSuggestionRow.model_version)))
    assert versions == {trained.version}


def test_the_scheduler_survives_a_missing_model(trained: Trained, session: Session,
                                                caplog: pytest.LogCaptureFixture) -> None:
    from matchning.jobs.scheduler import precompute_job

    session.execute(delete(ActiveModelRow))
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    precompute_job(factory, trained.settings)  # logged, not raised: the next night tries again
    assert "scheduled precompute failed" in caplog.text
    assert session.scalar(select(func.count()).select_from(PrecomputedSuggestionRow)) == 0


# --- errors ---------------------------------------------------------------------------------

def test_unknown_unit_is_a_clear_error(trained: Trained, session: Session) -> None:
    ctx = ctx_of(trained, session)
    with pytest.raises(NotFound, match="Enheten 999999 finns inte"):
        precompute.precompute(ctx, unit_id=999_999)
    with pytest.raises(NotFound, match="Enheten finns-inte finns inte"):
        precompute.unit_id_of(ctx, "finns-inte")
    assert precompute.unit_id_of(ctx, "demo-u-1") == trained.unit_id
    assert precompute.unit_id_of(ctx, str(trained.unit_id)) == trained.unit_id


def test_without_a_trained_model_nothing_is_stored(trained: Trained, session: Session) -> None:
    session.execute(delete(ActiveModelRow))
    with pytest.raises(ModelUnavailable):
        precompute.precompute(ctx_of(trained, session), k=K)
    no_matcher = Context(session=session, principal=SYSTEM, settings=trained.settings)
    with pytest.raises(ModelUnavailable):
        precompute.precompute(no_matcher, k=K)
    assert stored(session) == []


def test_an_unreachable_cluster_is_a_clear_error(trained: Trained, session: Session,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "CONNECT_TIMEOUT", 1)
    nowhere = "tcp://127.0.0.1:1"
    with pytest.raises(ServiceUnavailable, match=re.escape(f"Dask-schemaläggaren {nowhere} går")):
        precompute.precompute(ctx_of(trained, session, nowhere), k=K)
    assert stored(session) == []


# --- what later features read ---------------------------------------------------------------

def test_top_counts_count_waiting_participants_with_the_slot_in_their_top_3(
        trained: Trained, session: Session) -> None:
    precompute.precompute(ctx_of(trained, session), unit_id=trained.unit_id, k=K)
    lists = precomputed.lists_for_unit(session, trained.unit_id)
    expected: dict[int, int] = {}
    for items in lists.values():
        for s in items[:3]:
            expected[s.slot_id] = expected.get(s.slot_id, 0) + 1
    assert precomputed.top_counts(session, trained.unit_id) == expected

    pid, items = next(iter(lists.items()))
    mine = items[0].slot_id
    others = precomputed.top_counts(session, trained.unit_id, slot_ids=[mine],
                                    exclude_participant_id=pid)
    assert others.get(mine, 0) == expected[mine] - 1
    assert precomputed.top_counts(session, trained.unit_id, top=1) == _firsts(lists)

    # A participant who is no longer waiting no longer counts, nor has a list to read.
    session.execute(update(ParticipantRow).where(ParticipantRow.id == pid)
                    .values(status=ParticipantStatus.paused.value))
    assert pid not in precomputed.lists_for_unit(session, trained.unit_id)
    assert pid in precomputed.lists_for_unit(session, trained.unit_id, waiting_only=False)
    assert precomputed.top_counts(session, trained.unit_id, slot_ids=[mine]).get(mine, 0) \
        == expected[mine] - 1


def _firsts(lists: dict[int, list[precomputed.StoredSuggestion]]) -> dict[int, int]:
    out: dict[int, int] = {}
    for items in lists.values():
        out[items[0].slot_id] = out.get(items[0].slot_id, 0) + 1
    return out


# --- the command ----------------------------------------------------------------------------

def test_the_command_stores_and_reports(trained: Trained, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    import json

    runner = CliRunner()
    with precompute_cli_env(trained, monkeypatch):
        try:
            done = runner.invoke(cli_app, ["precompute", "--unit", "demo-u-1", "--k", "3",
                                           "--json"])
            assert done.exit_code == 0, done.output
            report = json.loads(done.stdout)
            assert report["model_version"] == trained.version and report["k"] == 3
            assert report["backend"] == "lokal" and report["rows"] > 0
            assert [u["unit_id"] for u in report["units"]] == [trained.unit_id]

            table = runner.invoke(cli_app, ["precompute", "--k", "3"])
            assert table.exit_code == 0, table.output
            assert f"Modellversion {trained.version}, topp 3" in table.stdout

            unknown = runner.invoke(cli_app, ["precompute", "--unit", "finns-inte"])
            assert unknown.exit_code == 1 and unknown.stdout == ""
            assert unknown.stderr.startswith("Fel: Enheten finns-inte finns inte")
        finally:
            with trained.engine.begin() as conn:  # the command commits: leave no rows behind
                conn.execute(delete(PrecomputedSuggestionRow))


def test_the_command_without_a_model_says_so(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli_app, ["init-db"]).exit_code == 0
    result = runner.invoke(cli_app, ["precompute"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "ingen tränad matchningsmodell" in result.stderr
