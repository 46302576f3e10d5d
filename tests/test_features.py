"""Pair features on hand-made profiles and slots, with the expected values worked out by hand."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from matchning.domain.snapshot import SNAPSHOT_FIELDS
from matchning.ml.catalog import SlotMatrix
from matchning.ml.employer_stats import EmployerStats
from matchning.ml.features import (
    COLUMN,
    FEATURES,
    GROUPS,
    Substitutes,
    Vectorisers,
    encode_profiles,
    encode_slots,
    pair_features,
    shared_digits,
)
from matchning.ml.model import pair_distances
from matchning.ml.profiles import ProfileMatrix
from matchning.ml.text import swedish_tokens
from matchning.reference import get_reference

REF = get_reference()
SAME_KOMMUN_KM = 5.0


# --- shared_digits -------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "expected"), [
    (9621, 9621, 4),
    (9621, 9622, 3),
    (9621, 9611, 2),
    (9621, 9111, 1),
    (9621, 5321, 0),
    (9621, 1621, 0),   # the last three digits agree, the first does not: nothing shared
    (-1, 9621, 0),
    (9621, -1, 0),
    (-1, -1, 0),       # padding never matches padding
])
def test_shared_digits(a, b, expected):
    assert shared_digits(np.array([a]), np.array([b])).tolist() == [expected]


def test_shared_digits_broadcasts_over_padded_lists():
    wished = np.array([[9621, 4321, -1], [-1, -1, -1]])
    occ = np.array([[4322], [4322]])
    assert shared_digits(wished, occ).tolist() == [[0, 3, 0], [0, 0, 0]]
    assert shared_digits(wished, occ).max(axis=1).tolist() == [3, 0]


# --- swedish_tokens ------------------------------------------------------------------------

def test_stemming_joins_inflections():
    assert swedish_tokens("lagerarbetare") == swedish_tokens("lagerarbete") == ["lagerarbet"]
    assert swedish_tokens("truckar") == swedish_tokens("truck") == ["truck"]
    assert swedish_tokens("trucken") == ["truck"]
    assert swedish_tokens("kockar") == swedish_tokens("kock") == ["kock"]


def test_stemming_is_snowball_not_lemmatisation():
    # What Snowball's Swedish stemmer really does: "lager" and "lagret" stay apart.
    assert swedish_tokens("lager") == ["lag"]
    assert swedish_tokens("lagret") == ["lagret"]


def test_case_and_swedish_letters():
    assert swedish_tokens("KÖKET") == ["kök"]
    assert swedish_tokens("Städning, ÅTERVINNING!") == swedish_tokens("städning återvinning")


def test_stop_words_single_letters_and_digits_removed():
    assert swedish_tokens("och i att på lager") == ["lag"]
    assert swedish_tokens("Jag vill jobba på lager och köra truck.") == [
        "jobb", "lag", "kör", "truck"]
    assert swedish_tokens("a b 12 40 och") == []
    assert swedish_tokens("") == []


# --- pair features on a hand-made set ------------------------------------------------------

A_POINT = (59.3300, 18.0600)
S0_POINT = (59.4000, 17.9500)

PROFILES = [
    {   # A: Stockholm, wants 9621, has been warehouse foreman (4321) for 12 years
        "kommunkod": "0180", "lat": A_POINT[0], "lon": A_POINT[1], "max_commute_km": 20,
        "driving_licences": ["B"], "own_car": True, "swedish_level": "D",
        "other_languages": ["ar"], "education_level": 3,
        "wished_occupations": ["9621"],
        "past_work": [{"code": "4321", "years": 12}, {"code": "9629", "years": 3}],
        "skills": [" truckkort ", "Lagerarbete", "Packning"],
        "profile_text": "Jag vill jobba på lager och köra truck.",
        "max_hours_per_week": 30, "earliest_start": None, "needs_supervisor": True,
        "adaptations": [],
    },
    {   # B: Göteborg without a point, wants cook (5120)
        "kommunkod": "1480", "lat": None, "lon": None, "max_commute_km": 10,
        "driving_licences": [], "own_car": False, "swedish_level": "modersmål",
        "other_languages": [], "education_level": None,
        "wished_occupations": ["5120"],
        "past_work": [{"code": "5131", "years": 4}, {"code": "9412", "years": 2}],
        "skills": ["Matlagning"],
        "profile_text": "Kock i restaurangkök, gillar matlagning.",
        "max_hours_per_week": None, "earliest_start": None, "needs_supervisor": False,
        "adaptations": [],
    },
]


def _slot(**kw):
    base = {"id": 0, "external_id": None, "employer_id": 1, "employer_name": "AB",
            "sector": "privat", "size_band": "10-49", "title": "", "description": "",
            "occupation_code": "0000", "required_skills": [], "nice_skills": [],
            "kommunkod": "0180", "lat": None, "lon": None, "capacity": 1, "remaining": 1,
            "hours_per_week": None, "start_date": "2026-01-01", "end_date": None,
            "driving_licences": [], "swedish_level": None, "physical_demand": "lätt",
            "accessible": False, "supervisor": False, "may_lead_to_job": False,
            "status": "open"}
    return {**base, **kw}


SLOTS = [
    _slot(id=10, title="Lagerarbetare",
          description="Plock och pack på lager, körning av truck.", occupation_code="4321",
          required_skills=["Truckkort", "Lagerarbete", "Svetsning"],
          nice_skills=["Packning", "Excel"], lat=S0_POINT[0], lon=S0_POINT[1],
          hours_per_week=40, swedish_level="C", supervisor=False, may_lead_to_job=True),
    _slot(id=11, title="Kock", description="Matlagning i restaurangkök, disk och servering.",
          occupation_code="5120", required_skills=[], nice_skills=["Matlagning"],
          kommunkod="0180", hours_per_week=None, swedish_level=None, supervisor=True,
          may_lead_to_job=False),
    _slot(id=12, title="Vaktmästare", description="Fastighetsskötsel och enklare reparationer.",
          occupation_code="9622", required_skills=["Packning"], nice_skills=[],
          kommunkod="1480", hours_per_week=20, swedish_level="flytande", supervisor=False,
          may_lead_to_job=False),
]

# All six pairs: profile-major.
PI = np.array([0, 0, 0, 1, 1, 1])
SI = np.array([0, 1, 2, 0, 1, 2])


def _features(profiles, slots=SLOTS, vectorisers=None):
    P = ProfileMatrix.from_records(profiles, REF)
    S = SlotMatrix.from_records(slots, REF)
    vec = vectorisers or Vectorisers().fit(slots, profiles)
    ES = encode_slots(vec, S, EmployerStats().arrays(S.employer))
    EP = encode_profiles(vec, P)
    dist = pair_distances(P, S, PI, SI, SAME_KOMMUN_KM)
    return pair_features(P, EP, S, ES, PI, SI, dist, Substitutes(REF))


@pytest.fixture(scope="module")
def X():
    return _features(PROFILES)


def _col(X, name):
    return X[:, COLUMN[name]].tolist()


def _haversine(a, b):
    (lat1, lon1), (lat2, lon2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _centroid(kommun):
    m = REF.municipalities[kommun]
    return m.lat, m.lon


def test_shape_and_order(X):
    assert X.shape == (6, len(FEATURES))
    assert list(COLUMN) == list(FEATURES)
    assert set(FEATURES) == {f for cols in GROUPS.values() for f in cols}
    assert len(set(FEATURES)) == len(FEATURES)


def test_occupation_levels(X):
    # A: wished 9621 vs 4321/5120/9622; B: wished 5120.
    assert _col(X, "wish_level") == [0, 0, 3, 0, 4, 0]
    # A's past 4321 equals S0; A's past 9629 shares three digits with 9622;
    # B's past 5131 shares two digits with 5120, B's past 9412 one digit with 9622.
    assert _col(X, "past_level") == [4, 0, 3, 0, 2, 1]


def test_past_years_count_only_close_occupations_and_are_capped(X):
    # A/S0: 12 years as 4321 (level 4) capped at 10; A/S2: 3 years as 9629 (level 3);
    # B/S1: past 5131 is only level 2 with 5120, so its 4 years do not count.
    assert _col(X, "past_years") == [10, 0, 3, 0, 0, 0]


def test_substitute_from_jobtech(X):
    # JobTech: 9412 (restaurant help) can substitute into 5120 at 25 %; nothing else applies.
    assert ("5120", 25) in REF.substitutes["9412"]
    assert _col(X, "substitute") == pytest.approx([0, 0, 0, 0, 0.25, 0])


def test_skill_cover(X):
    # S0 asks three (A has two: "truckkort" matches "Truckkort" after normalising) and
    # two nice (A has one); S1 asks none (cover 1.0); S2 asks "Packning".
    assert _col(X, "required_cover") == pytest.approx([2 / 3, 1.0, 1.0, 0.0, 1.0, 0.0])
    assert _col(X, "nice_cover") == pytest.approx([1 / 2, 0.0, 0.0, 0.0, 1.0, 0.0])
    assert _col(X, "skills_matched") == [3, 0, 1, 0, 1, 0]
    assert _col(X, "skills_asked") == [3, 0, 1, 3, 0, 1]


def test_distance_and_commute(X):
    expected = [
        _haversine(A_POINT, S0_POINT),
        _haversine(A_POINT, _centroid("0180")),      # slot without a point: its kommun
        _haversine(A_POINT, _centroid("1480")),
        _haversine(_centroid("1480"), S0_POINT),     # profile without a point: its kommun
        _haversine(_centroid("1480"), _centroid("0180")),
        SAME_KOMMUN_KM,                              # neither has a point, same kommun
    ]
    d = _col(X, "distance_km")
    assert d == pytest.approx(expected, rel=1e-3)
    assert 5 < d[0] < 15 and 350 < d[4] < 450    # sanity: Stockholm–Göteborg ≈ 400 km
    commute = [20, 20, 20, 10, 10, 10]
    assert _col(X, "commute_share") == pytest.approx([a / c for a, c in zip(d, commute,
                                                                           strict=True)])
    assert _col(X, "commute_margin_km") == pytest.approx([c - a for a, c in zip(d, commute,
                                                                               strict=True)])


def test_language_margin(X):
    # Ranks A..modersmål = 0..5: A has D (3), B modersmål (5); slots ask C (2), none, flytande (4).
    assert _col(X, "language_margin") == [1, 3, -1, 3, 5, 1]
    assert _col(X, "swedish_required") == [1, 0, 1, 1, 0, 1]
    assert _col(X, "swedish_rank") == [3, 3, 3, 5, 5, 5]


def test_hours(X):
    # A can work 30 h: S0 40 h → -10, S1 unknown → 0, S2 20 h → +10; B gives no maximum → 0.
    assert _col(X, "hours_margin") == [-10, 0, 10, 0, 0, 0]
    assert _col(X, "hours_known") == [1, 0, 1, 1, 0, 1]


def test_support(X):
    assert _col(X, "needs_support") == [1, 1, 1, 0, 0, 0]
    assert _col(X, "supervisor") == [0, 1, 0, 0, 1, 0]
    assert _col(X, "support_missing") == [1, 0, 1, 0, 0, 0]


def test_slot_and_person_columns(X):
    assert _col(X, "may_lead_to_job") == [1, 0, 0, 1, 0, 0]
    assert _col(X, "employer_rate") == [0.5] * 6          # no history: the prior
    assert _col(X, "employer_placements") == [0.0] * 6
    assert _col(X, "size_band") == [1] * 6
    assert _col(X, "own_car") == [1, 1, 1, 0, 0, 0]
    assert _col(X, "education") == [3, 3, 3, -1, -1, -1]  # unknown → -1


def test_text_similarity(X):
    sim = _col(X, "text_similarity")
    assert all(0.0 <= s <= 1.0 + 1e-6 for s in sim)
    # A (lager, truck) is closer to the warehouse slot than to the kitchen.
    assert sim[0] > sim[1]
    assert sim[0] > 0.1
    # B (kock, restaurangkök, matlagning) the other way round.
    assert sim[4] > sim[3]
    assert sim[4] > 0.1


def test_employer_override_per_pair():
    P = ProfileMatrix.from_records(PROFILES, REF)
    S = SlotMatrix.from_records(SLOTS, REF)
    vec = Vectorisers().fit(SLOTS, PROFILES)
    ES = encode_slots(vec, S, EmployerStats().arrays(S.employer))
    EP = encode_profiles(vec, P)
    dist = pair_distances(P, S, PI, SI, SAME_KOMMUN_KM)
    rate = np.linspace(0.1, 0.6, 6)
    X = pair_features(P, EP, S, ES, PI, SI, dist, Substitutes(REF),
                      (rate, np.full(6, 3.0), np.full(6, 0.2)))
    assert _col(X, "employer_rate") == pytest.approx(rate.tolist())
    assert _col(X, "employer_placements") == pytest.approx([math.log(4)] * 6)
    assert _col(X, "employer_job_rate") == pytest.approx([0.2] * 6)


# --- fairness: what is never a feature ---------------------------------------------------

FORBIDDEN_WORDS = ("gender", "sex", "kon", "kön", "age", "alder", "ålder", "birth", "born",
                   "fodelse", "födelse", "country", "origin", "target", "malgrupp",
                   "målgrupp", "health", "halsa", "hälsa", "disability", "ethnic", "religion")


def _words(name: str) -> set[str]:
    return set(re.split(r"[_\W]+", name.lower()))


def test_no_feature_is_a_protected_attribute():
    for name in FEATURES + tuple(GROUPS):
        words = _words(name)
        assert not words & set(FORBIDDEN_WORDS), name
        for word in ("gender", "birth", "target", "health", "ålder", "födel"):
            assert word not in name.lower(), name


def test_forbidden_word_check_can_fail():
    assert _words("birth_year") & set(FORBIDDEN_WORDS)
    assert _words("target_group") & set(FORBIDDEN_WORDS)
    assert not _words("language_margin") & set(FORBIDDEN_WORDS)  # "age" only inside a word


def test_snapshot_has_no_protected_fields():
    for name in SNAPSHOT_FIELDS:
        assert not _words(name) & set(FORBIDDEN_WORDS), name


def test_protected_keys_in_the_profile_change_nothing(X):
    extra = [
        {"target_groups": ["unga", "utrikes födda"], "gender": "kvinna", "birth_year": 1961,
         "birth_country": "SY", "age": 63, "health": "ryggbesvär"},
        {"target_groups": ["långtidsarbetslös"], "gender": "man", "birth_year": 2004,
         "birth_country": "SE", "age": 20, "health": None},
    ]
    marked = [{**p, **e} for p, e in zip(PROFILES, extra, strict=True)]
    # Vectorisers fitted on the marked profiles, and the fitted ones reused: identical rows.
    np.testing.assert_array_equal(_features(marked), X)
    vec = Vectorisers().fit(SLOTS, PROFILES)
    np.testing.assert_array_equal(_features(marked, vectorisers=vec), X)
    # The other way round: two people with every protected field swapped score the same.
    swapped = [{**p, **e} for p, e in zip(PROFILES, reversed(extra), strict=True)]
    np.testing.assert_array_equal(_features(swapped), X)


def test_profile_change_does_change_features(X):
    """Counter-check of the test above: a real profile field does move the features."""
    changed = [{**PROFILES[0], "wished_occupations": ["4321"]}, PROFILES[1]]
    X2 = _features(changed)
    assert _col(X2, "wish_level")[0] == 4
    assert not np.array_equal(X2, X)


def test_vectorisers_fit_without_any_skills():
    slots = [{**s, "required_skills": [], "nice_skills": []} for s in SLOTS]
    profiles = [{**p, "skills": []} for p in PROFILES]
    X = _features(profiles, slots)
    assert _col(X, "skills_matched") == [0] * 6
    assert _col(X, "required_cover") == [1.0] * 6
