"""The demo world generator: a small world checked against the schema, the vocabularies, the
reference data, the placement status machine and its hidden truth."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from matchning.demo import DemoConfig, database_is_empty, load_truth, seed_demo_world
from matchning.demo.config import DemoSummary
from matchning.domain.placement_flow import Action
from matchning.domain.snapshot import SNAPSHOT_FIELDS, profile_snapshot
from matchning.domain.validation import check_coordinates, check_orgnr, luhn_ok
from matchning.domain.vocab import (
    DRIVING_LICENCES,
    EDUCATION_LEVELS,
    AbortReason,
    AdaptationNeed,
    ExitOutcome,
    Gender,
    ParticipantStatus,
    PhysicalDemand,
    PlacementOutcome,
    PlacementStatus,
    Role,
    Sector,
    SizeBand,
    SlotStatus,
    SwedishLevel,
    TargetGroup,
)
from matchning.errors import Conflict
from matchning.reference import get_reference
from matchning.reference.catalog import normalise
from matchning.security import token_hash, verify_password
from matchning.storage.db import make_engine
from matchning.storage.migrate import upgrade
from matchning.storage.tables import Base, UnitRow

TODAY = date(2026, 6, 1)
SMALL = {"participants": 120, "employers": 40, "slots": 80, "months": 12, "today": TODAY}


@dataclass
class Seeded:
    engine: Engine
    summary: DemoSummary
    tables: dict[str, pd.DataFrame]


def _fresh_engine(path: Path) -> Engine:
    engine = make_engine("sqlite:///" + str(path))
    upgrade(engine)
    return engine


def _read_all(engine: Engine) -> dict[str, pd.DataFrame]:
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            out[table.name] = pd.DataFrame([dict(r) for r in rows],
                                           columns=[c.name for c in table.columns])
    return out


def _seed(tmp: Path, name: str, **overrides) -> Seeded:
    engine = _fresh_engine(tmp / f"{name}.sqlite3")
    config = DemoConfig(**{**SMALL, **overrides})
    summary = seed_demo_world(engine, config, truth_path=tmp / f"{name}-truth.npz")
    return Seeded(engine, summary, _read_all(engine))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return _seed(tmp_path_factory.mktemp("demo"), "small")


@pytest.fixture(scope="module")
def truth(demo: Seeded) -> tuple[pd.DataFrame, dict]:
    assert demo.summary.truth_path is not None
    return load_truth(demo.summary.truth_path)


def test_database_is_empty_before_and_after(tmp_path: Path) -> None:
    engine = _fresh_engine(tmp_path / "x.sqlite3")
    assert database_is_empty(engine)
    seed_demo_world(engine, DemoConfig(**{**SMALL, "participants": 20, "slots": 20}),
                    truth_path=None)
    assert not database_is_empty(engine)
    with pytest.raises(Conflict):  # a second demo world would clash with the first
        seed_demo_world(engine, DemoConfig(**SMALL), truth_path=None)


def test_counts_match_config_and_summary(demo: Seeded) -> None:
    t, counts = demo.tables, demo.summary.counts
    # The demo writes no audit rows, activates no model, runs no retrain, stores no lists and
    # makes no allocation plans.
    derived = ("precomputed_suggestions", "allocation_plans", "allocation_pairs")
    assert {name: len(df) for name, df in t.items()
            if name not in ("audit_log", "active_model", "model_activations", "change_counters",
                            "retrain_runs", *derived)} == counts
    assert all(len(t[name]) == 0 for name in derived)
    assert (len(t["units"]), len(t["employers"]), len(t["slots"]),
            len(t["participants"])) == (1, 40, 80, 120)
    assert len(t["participant_monitoring"]) == 120
    assert len(t["placements"]) > 120 and len(t["placement_events"]) > len(t["placements"])
    assert len(t["feedback"]) > 0
    roles = Counter(t["users"]["role"])
    assert roles["system_admin"] == 1 and roles["unit_admin"] == 1
    assert roles["consultant"] >= 2 and roles["employer"] >= 3
    # Each consultant has a caseload.
    assert set(t["participants"]["consultant_id"]) == set(
        t["users"].loc[t["users"]["role"] == "consultant", "id"])


def test_logins_work_with_password_and_token(demo: Seeded) -> None:
    users = demo.tables["users"].set_index("email")
    tokens = demo.tables["api_tokens"]
    assert [x["role"] for x in demo.summary.logins] == [
        "system_admin", "unit_admin", "consultant", "employer"]
    for login in demo.summary.logins:
        user = users.loc[login["email"]]
        assert user["role"] == login["role"]
        assert len(login["password"]) >= 10
        assert verify_password(user["password_hash"], login["password"])
        row = tokens[tokens["token_hash"] == token_hash(login["token"])]
        assert len(row) == 1 and row["user_id"].iloc[0] == user["id"]
        assert (row["expires_at"].iloc[0] - row["created_at"].iloc[0]).days == 90
    assert login["token"] not in set(tokens["token_hash"])


def _flat(series: pd.Series) -> set:
    return {x for v in series for x in v}


def test_enum_columns_hold_valid_values(demo: Seeded) -> None:
    t = demo.tables
    ref = get_reference()
    values = lambda enum: {m.value for m in enum}  # noqa: E731
    e, s, p, pl = t["employers"], t["slots"], t["participants"], t["placements"]
    assert set(e["sector"]) <= values(Sector)
    assert set(e["size_band"]) <= values(SizeBand)
    assert set(t["users"]["role"]) <= values(Role)
    assert set(s["status"]) <= values(SlotStatus)
    assert set(s["physical_demand"]) <= values(PhysicalDemand)
    assert set(s["swedish_level"].dropna()) <= values(SwedishLevel)
    assert _flat(s["driving_licences"]) | _flat(p["driving_licences"]) <= set(DRIVING_LICENCES)
    assert set(p["status"]) <= values(ParticipantStatus)
    assert {"väntande", "i praktik", "avslutad"} <= set(p["status"])
    assert set(p["exit_outcome"].dropna()) <= values(ExitOutcome)
    assert set(p["swedish_level"]) <= values(SwedishLevel)
    assert set(p["education_level"]) <= set(EDUCATION_LEVELS)
    assert _flat(p["target_groups"]) == values(TargetGroup)
    assert _flat(p["adaptations"]) <= values(AdaptationNeed)
    assert _flat(p["other_languages"]) <= set(ref.languages)
    assert set(pl["status"]) <= values(PlacementStatus)
    assert set(pl["abort_reason"].dropna()) <= values(AbortReason)
    assert set(pl["outcome"].dropna()) <= values(PlacementOutcome)
    assert set(t["participant_monitoring"]["gender"]) <= values(Gender)
    ev = t["placement_events"]
    assert set(ev["action"]) <= values(Action) | {"propose", "outcome"}
    assert set(ev["to_status"]) | set(ev["from_status"].dropna()) <= values(PlacementStatus)


def test_codes_are_valid_in_the_reference(demo: Seeded) -> None:
    ref = get_reference()
    t = demo.tables
    s, p = t["slots"], t["participants"]
    unit_kommuner = set(t["units"]["kommuner"].iloc[0])
    assert 1 <= len(unit_kommuner) <= 3
    assert all(ref.is_unit_group(c) for c in s["occupation_code"])
    assert all(ref.is_unit_group(c) for c in _flat(p["wished_occupations"]))
    past = [w for v in p["past_work"] for w in v]
    assert past and all(ref.is_unit_group(w["code"]) and w["years"] >= 1 for w in past)
    for frame in (t["employers"], s, p):
        assert all(ref.is_kommunkod(k) for k in frame["kommunkod"])
    assert set(p["kommunkod"]) <= unit_kommuner
    assert set(s["kommunkod"]) & unit_kommuner
    for kommun, postcode in zip(p["kommunkod"], p["postcode"], strict=True):
        assert pd.isna(postcode) or (len(postcode) == 5
                                     and ref.kommun_for_postcode(postcode) == kommun)
    for _, slot in s.iterrows():
        allowed = set(ref.skills_by_ssyk[slot["occupation_code"]])
        assert set(slot["required_skills"]) | set(slot["nice_skills"]) <= allowed
    assert all(normalise(x) in ref.skills for x in _flat(p["skills"]))
    for frame in (s, p):
        for lat, lon in zip(frame["lat"], frame["lon"], strict=True):
            lat, lon = (None, None) if pd.isna(lat) else (lat, lon)
            assert check_coordinates("point", lat, lon) == []
    assert s["lat"].notna().mean() > 0.6 and 0 < p["lat"].notna().mean() < 0.8


def test_employers_have_valid_orgnr(demo: Seeded) -> None:
    for orgnr in demo.tables["employers"]["orgnr"]:
        assert len(orgnr) == 10 and luhn_ok(orgnr) and check_orgnr("orgnr", orgnr) == []


def test_slot_fields_are_plausible(demo: Seeded) -> None:
    s = demo.tables["slots"]
    assert s["capacity"].between(1, 5).all() and (s["capacity"] <= 3).mean() > 0.8
    assert s["hours_per_week"].isna().any() and s["hours_per_week"].notna().mean() > 0.6
    assert s["description"].nunique() == len(s) and s["title"].nunique() > len(s) / 3
    assert (s["end_date"].isna() | (s["end_date"] >= s["start_date"])).all()
    transport = s[s["occupation_code"].isin(["8332", "8329"])]
    assert all(row for row in transport["driving_licences"])


def _occupying(pl: pd.DataFrame) -> pd.DataFrame:
    """Placements that held a place at some time: [decided_on, ended_on or open)."""
    held = pl[pl["status"].isin(["accepted", "started", "completed", "aborted"])].copy()
    held["until"] = held["ended_on"].fillna(date(9999, 1, 1))
    return held


def test_capacity_is_never_exceeded(demo: Seeded) -> None:
    pl, s = demo.tables["placements"], demo.tables["slots"].set_index("id")
    now = pl[pl["status"].isin(["accepted", "started"])].groupby("slot_id").size()
    assert (now <= s.loc[now.index, "capacity"]).all()
    for slot_id, group in _occupying(pl).groupby("slot_id"):
        points = sorted([(d, 1) for d in group["decided_on"]]
                        + [(d, -1) for d in group["until"]], key=lambda x: (x[0], x[1]))
        load = peak = 0
        for _, step in points:
            load += step
            peak = max(peak, load)
        assert peak <= s.loc[slot_id, "capacity"]


def test_one_placement_under_way_per_participant(demo: Seeded) -> None:
    pl = demo.tables["placements"]
    active = pl[pl["status"].isin(["proposed", "accepted", "started"])]
    assert active["participant_id"].value_counts().max() == 1
    for _, group in pl.sort_values("proposed_on").groupby("participant_id"):
        ends = (group["ended_on"].fillna(group["decided_on"])).tolist()
        starts = group["proposed_on"].tolist()
        for end, nxt in zip(ends[:-1], starts[1:], strict=True):
            assert end is not None and end <= nxt


def test_statuses_and_dates_follow_the_status_machine(demo: Seeded) -> None:
    t = demo.tables
    pl, ev = t["placements"], t["placement_events"]
    today = TODAY
    steps = {"proposed": ["propose"], "declined": ["propose", "decline"],
             "withdrawn": ["propose", "withdraw"], "accepted": ["propose", "accept"],
             "started": ["propose", "accept", "start"],
             "completed": ["propose", "accept", "start", "complete"],
             "aborted": ["propose", "accept", "start", "abort"]}
    actions = ev.sort_values("id").groupby("placement_id")["action"].apply(list)
    consultants = set(t["users"].loc[t["users"]["role"] == "consultant", "id"])
    for row in pl.itertuples():
        assert actions[row.id] == steps[row.status] + (["outcome"] if pd.notna(row.outcome)
                                                       else [])
        assert row.proposed_by in consultants and row.proposed_on <= today
        dates = [row.proposed_on, row.decided_on, row.started_on, row.ended_on, row.outcome_on]
        known = [d for d in dates if d is not None and not pd.isna(d)]
        assert known == sorted(known) and all(d <= today for d in known)
        assert pd.isna(row.decided_on) == (row.status == "proposed")
        assert pd.notna(row.started_on) == (row.status in ("started", "completed", "aborted"))
        assert pd.notna(row.ended_on) == (row.status in ("completed", "aborted"))
        assert pd.notna(row.decline_reason) == (row.status == "declined")
        assert pd.notna(row.abort_reason) == (row.status == "aborted")
        assert pd.isna(row.outcome) or row.status == "completed"
        assert pd.isna(row.outcome) == pd.isna(row.outcome_on)
    day_of = dict(zip(ev["id"], pd.to_datetime(ev["at"]).dt.date, strict=True))
    column = {"propose": "proposed_on", "accept": "decided_on", "decline": "decided_on",
              "withdraw": "decided_on", "start": "started_on", "complete": "ended_on",
              "abort": "ended_on", "outcome": "outcome_on"}
    placements = pl.set_index("id")
    for e in ev.itertuples():
        assert day_of[e.id] == placements.loc[e.placement_id, column[e.action]]
    counts = Counter(pl["status"])
    assert counts["completed"] and counts["aborted"] and counts["declined"]
    assert counts["proposed"] + counts["accepted"] + counts["started"] > 0
    assert "fick arbete" in set(pl["abort_reason"])
    p = t["participants"]
    ended = p["status"] == "avslutad"
    assert p.loc[ended, "exit_outcome"].notna().all() and p.loc[ended, "exit_date"].notna().all()
    assert p.loc[~ended, ["exit_outcome", "exit_date"]].isna().all().all()
    in_practice = set(p.loc[p["status"] == "i praktik", "id"])
    assert in_practice == set(pl.loc[pl["status"] == "started", "participant_id"])
    share = p.loc[ended, "exit_outcome"].isin(["arbete", "studier"]).mean()
    assert 0.2 < share < 0.65


def test_every_placement_has_the_participants_snapshot(demo: Seeded) -> None:
    p = demo.tables["participants"].set_index("id")
    for row in demo.tables["placements"].itertuples():
        assert set(row.snapshot) == set(SNAPSHOT_FIELDS)
        assert row.snapshot == profile_snapshot(p.loc[row.participant_id].to_dict() | {
            "lat": _none_if_nan(p.loc[row.participant_id, "lat"]),
            "lon": _none_if_nan(p.loc[row.participant_id, "lon"]),
            "max_hours_per_week": _none_if_nan(p.loc[row.participant_id,
                                                     "max_hours_per_week"])})


def _none_if_nan(x):
    return None if pd.isna(x) else x


def test_fairness_fields_stay_in_monitoring(demo: Seeded) -> None:
    p, m = demo.tables["participants"], demo.tables["participant_monitoring"]
    assert not {"gender", "birth_year", "born_abroad"} & set(p.columns)
    assert set(m["participant_id"]) == set(p["id"])
    assert p["pnr_hash"].isna().all()
    assert m["birth_year"].between(1955, 2012).all() and m["born_abroad"].any()
    words = (" kvinna", " man ", " han ", " hon ", "född", "ålder", "år gammal", "nyanländ")
    for text in p["profile_text"].str.lower():
        assert not any(w in f" {text} " for w in words)
    assert not any(k in snap for snap in demo.tables["placements"]["snapshot"]
                   for k in ("target_groups", "gender", "birth_year"))


def test_truth_file_matches_the_database(demo: Seeded, truth) -> None:
    rows, meta = truth
    t = demo.tables
    assert list(rows.columns) == ["kind", "placement_id", "participant_id", "slot_id", "p"]
    placed = rows[rows["kind"] == "placement"]
    db = t["placements"].merge(t["participants"][["id", "external_id"]], left_on="participant_id",
                               right_on="id", suffixes=("", "_p"))
    db = db.merge(t["slots"][["id", "external_id"]], left_on="slot_id", right_on="id",
                  suffixes=("", "_s"))
    key = lambda a, b, c: set(zip(a, b, c, strict=True))  # noqa: E731
    assert key(placed["placement_id"], placed["participant_id"], placed["slot_id"]) == key(
        db["external_id"], db["external_id_p"], db["external_id_s"])
    cand = rows[rows["kind"] == "candidate"]
    assert len(cand) > 0 and cand["placement_id"].isna().all()
    waiting = set(t["participants"].loc[t["participants"]["status"] == "väntande",
                                        "external_id"])
    open_slots = set(t["slots"].loc[t["slots"]["status"] == "open", "external_id"])
    assert set(cand["participant_id"]) <= waiting and set(cand["slot_id"]) <= open_slots
    assert rows["p"].between(0, 1).all()
    assert meta["seed"] == 42 and meta["variant"] == "default" and meta["candidates"]["included"]
    assert set(meta["employer_quality"]) == set(t["employers"]["external_id"])


def test_hidden_truth_is_not_in_the_database(demo: Seeded, truth) -> None:
    rows, meta = truth
    hidden = set(np.round(list(meta["employer_quality"].values()), 4)) | set(
        np.round(rows["p"], 6))
    for name, frame in demo.tables.items():
        assert not {"quality", "p", "probability"} & set(frame.columns), name
        for col in frame.select_dtypes("number").columns:
            if col.endswith("id") or col in ("capacity", "version", "birth_year"):
                continue
            floats = set(np.round(frame[col].dropna().astype(float), 4)) | set(
                np.round(frame[col].dropna().astype(float), 6))
            assert not floats & hidden - {0.0, 1.0}, (name, col)


def test_outcomes_depend_on_the_hidden_fit(demo: Seeded, truth) -> None:
    rows, meta = truth
    pl = demo.tables["placements"][["external_id", "status", "slot_id"]]
    joined = rows[rows["kind"] == "placement"].merge(pl, left_on="placement_id",
                                                    right_on="external_id")
    by_status = joined.groupby("status")["p"].mean()
    assert by_status["completed"] > by_status["aborted"] + 0.05
    assert by_status["completed"] > by_status["declined"] + 0.05
    # Consultants choose better than chance, but not perfectly.
    assert joined["p"].mean() > rows.loc[rows["kind"] == "candidate", "p"].mean()
    assert meta["hidden_weights"]["quality"] > 0


def test_same_seed_gives_the_same_world(demo: Seeded, tmp_path: Path) -> None:
    again = _seed(tmp_path, "again")
    secret = {"users": ["password_hash"], "api_tokens": ["token_hash", "created_at",
                                                        "expires_at"]}
    for name, frame in demo.tables.items():
        other = again.tables[name]
        drop = secret.get(name, [])
        pd.testing.assert_frame_equal(frame.drop(columns=drop), other.drop(columns=drop),
                                      check_dtype=False)
    a, _ = load_truth(demo.summary.truth_path)
    b, _ = load_truth(again.summary.truth_path)
    pd.testing.assert_frame_equal(a, b)


def test_variant_alt_has_different_probabilities(demo: Seeded, truth, tmp_path: Path) -> None:
    alt = _seed(tmp_path, "alt", variant="alt")
    rows_alt, meta_alt = load_truth(alt.summary.truth_path)
    rows, meta = truth
    assert meta_alt["variant"] == "alt" and meta_alt["hidden_weights"] != meta["hidden_weights"]
    # The world is the same; outcomes and true probabilities are not.
    # Paused and the version counter follow the history; the rest of the slot does not.
    same = [c for c in demo.tables["slots"].columns if c not in ("status", "version")]
    pd.testing.assert_frame_equal(demo.tables["slots"][same], alt.tables["slots"][same])
    both = rows.merge(rows_alt, on=["participant_id", "slot_id"], suffixes=("", "_alt"))
    assert len(both) > 50
    assert (both["p"] - both["p_alt"]).abs().mean() > 0.05


def test_several_units_get_their_own_region_and_staff(tmp_path: Path) -> None:
    seeded = _seed(tmp_path, "units", units=3, participants=90, slots=60)
    units, users = seeded.tables["units"], seeded.tables["users"]
    assert list(units["external_id"]) == ["demo-u-1", "demo-u-2", "demo-u-3"]
    regions = [frozenset(k) for k in units["kommuner"]]
    assert len(set(regions)) == 3 and not (regions[0] & regions[1])
    per_unit = users[users["role"] == "consultant"].groupby("unit_id").size()
    assert (per_unit >= 2).all() and len(per_unit) == 3
    p = seeded.tables["participants"]
    kommuner = dict(zip(units["id"], units["kommuner"], strict=True))
    assert all(k in kommuner[u] for u, k in zip(p["unit_id"], p["kommunkod"], strict=True))
    staff_unit = users.set_index("id")["unit_id"]
    assert (staff_unit.loc[p["consultant_id"]].to_numpy() == p["unit_id"].to_numpy()).all()


def test_seed_on_each_backend_leaves_sequences_usable(engine: Engine) -> None:
    """Also on PostgreSQL (marked): ids are explicit, so the sequences must be moved on."""
    summary = seed_demo_world(engine, DemoConfig(**{**SMALL, "participants": 30, "slots": 30}),
                              truth_path=None)
    assert summary.counts["participants"] == 30
    with Session(engine) as session:
        session.add(UnitRow(name="En enhet till", kommuner=["0180"], settings={}))
        session.commit()
        assert session.scalar(select(func.count()).select_from(UnitRow)) == 2
    by_slot = defaultdict(int)
    with engine.connect() as conn:
        for row in conn.execute(select(Base.metadata.tables["placements"])).mappings():
            if row["status"] in ("accepted", "started"):
                by_slot[row["slot_id"]] += 1
    assert all(n <= 5 for n in by_slot.values())
