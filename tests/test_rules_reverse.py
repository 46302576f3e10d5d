"""The reverse engine (one slot, many participants) agrees with the independent checker."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchning.ml.catalog import SlotMatrix
from matchning.ml.rule_defs import PairHistory, RuleDay, RuleSettings
from matchning.ml.rules import evaluate_rules_for_slot
from matchning.ml.rules_check import check_pair
from tests.test_rules_agree import REF, TODAY, profiles, slot_records


@st.composite
def reverse_cases(draw):
    slot = draw(slot_records(draw(st.integers(1, 10_000))))
    people = draw(st.lists(profiles(), min_size=1, max_size=15))
    hists = [PairHistory(
        blocked_slots=frozenset(draw(st.sets(st.sampled_from([slot["id"], 1, 2])))),
        rejected_slots=frozenset(draw(st.sets(st.sampled_from([slot["id"], 3])))),
        aborted_employers=frozenset(draw(st.sets(st.sampled_from([slot["employer_id"], 4])))),
    ) for _ in people]
    rules = draw(st.sampled_from([RuleSettings(), RuleSettings(start_horizon_days=14,
                                                               reduced_hours_max=20.0,
                                                               same_kommun_km=2.0)]))
    return slot, people, hists, RuleDay(today=TODAY, settings=rules)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reverse_cases())
def test_reverse_engine_agrees_with_the_checker(case) -> None:
    slot, people, hists, day = case
    out = evaluate_rules_for_slot(people, SlotMatrix.from_records([slot], REF), hists, day,
                                  REF)
    assert len(out.feasible) == len(people)
    for i, (profile, hist) in enumerate(zip(people, hists, strict=True)):
        expected = check_pair(profile, slot, hist, day, REF)
        assert out.codes(i) == expected, (i, profile)
