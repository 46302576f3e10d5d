"""Pure domain pieces: identifiers, distances, reference data, settings, snapshots."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchning import security
from matchning.config import Settings
from matchning.domain import geo, validation
from matchning.domain.placement_flow import Action, Side, plan_transition
from matchning.domain.snapshot import SNAPSHOT_FIELDS, profile_snapshot
from matchning.domain.vocab import PlacementStatus
from matchning.errors import Forbidden, IllegalTransition, InvalidInput
from matchning.reference import get_reference


def _luhn_digit(first9: str) -> str:
    for d in "0123456789":
        if validation.luhn_ok(first9 + d):
            return d
    raise AssertionError


@pytest.mark.parametrize("orgnr,ok", [
    ("556036-0793", True), ("5560360793", True), ("556036-0794", False),
    ("55603607", False), ("abcdef-ghij", False), ("", True), (None, True),
])
def test_orgnr(orgnr, ok):
    assert (validation.check_orgnr("orgnr", orgnr) == []) is ok


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_luhn_check_digit_is_unique(first9):
    d = _luhn_digit(first9)
    assert sum(validation.luhn_ok(first9 + x) for x in "0123456789") == 1
    assert validation.luhn_ok(first9 + d)


def test_personnummer_hash_is_keyed_and_normalised():
    pnr = "19811218-9876"
    norm = security.normalise_personnummer(pnr)
    assert norm == "8112189876"
    assert security.normalise_personnummer("811218-9876") == norm
    assert security.normalise_personnummer("811218-9877") is None
    a = security.personnummer_hash("k1", norm)
    assert a != security.personnummer_hash("k2", norm)
    assert norm not in a


def test_tokens_and_passwords():
    t = security.new_token()
    assert t.startswith("mt_") and len(t) > 40
    assert security.token_hash(t) != t and len(security.token_hash(t)) == 64
    h = security.hash_password("ett långt lösenord")
    assert security.verify_password(h, "ett långt lösenord")
    assert not security.verify_password(h, "fel")
    assert not security.verify_password(None, "x")


def test_reference_codes():
    ref = get_reference()
    level4 = [o for o in ref.occupations.values() if o.level == 4]
    assert sum(o.source == "ssyk2012" for o in level4) == 429
    assert {"1210", "1290", "1370"} <= {o.code for o in level4 if o.source == "jobtech"}
    assert ref.is_unit_group("4322") and not ref.is_unit_group("432")
    assert not ref.is_unit_group("9999")
    assert len(ref.municipalities) == 290
    assert ref.kommun_for_postcode("100 04") == "0180"
    assert any(h["ssyk4"] == "4322" for h in ref.search_occupations("lagerarbetare"))
    assert ref.canonical_skill("  truckkort ") in ("Truckkort", "truckkort")


def test_distance_rules():
    ref = get_reference()
    sthlm, solna = ref.municipalities["0180"], ref.municipalities["0184"]
    # same kommun, no coordinates: the documented default
    assert geo.distance_km(ref, "0180", None, "0180", None, 5.0) == 5.0
    # coordinates on both sides: plain haversine
    d = geo.distance_km(ref, "0180", (59.33, 18.06), "1480", (57.71, 11.97), 5.0)
    assert 390 < d < 400
    # one side missing: its kommun centroid stands in
    d2 = geo.distance_km(ref, "0180", None, "0184", (solna.lat, solna.lon), 5.0)
    assert d2 == pytest.approx(geo.haversine_km(sthlm.lat, sthlm.lon, solna.lat, solna.lon))


def test_transition_rules_are_checked_in_order():
    with pytest.raises(Forbidden):
        plan_transition(Action.withdraw, PlacementStatus.proposed, Side.employer, None)
    with pytest.raises(IllegalTransition):
        plan_transition(Action.start, PlacementStatus.proposed, Side.unit, None)
    with pytest.raises(InvalidInput):
        plan_transition(Action.decline, PlacementStatus.proposed, Side.employer, "  ")
    t = plan_transition(Action.accept, PlacementStatus.proposed, Side.employer, None)
    assert t.target is PlacementStatus.accepted and t.occupies_place


def test_settings_refuse_default_secret_in_production():
    with pytest.raises(ValueError):
        Settings(environment="production")
    assert Settings(environment="production", secret_key="x" * 32).secret_key


def test_snapshot_has_no_fairness_fields():
    snap = profile_snapshot({"kommunkod": "0180", "earliest_start": date(2026, 1, 2),
                             "target_groups": ["ungdom"], "gender": "kvinna"})
    assert set(snap) == set(SNAPSHOT_FIELDS)
    assert snap["earliest_start"] == "2026-01-02"
    assert "target_groups" not in snap and "gender" not in snap


def test_occupation_search_has_no_duplicates():
    hits = get_reference().search_occupations("städare", limit=50)
    keys = [(h["name"].casefold(), h["ssyk4"]) for h in hits]
    assert len(keys) == len(set(keys)) and ("städare", "9111") in keys
