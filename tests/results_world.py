"""Small worlds whose report figures and slot gaps are known exactly (worked out by hand in
the comments), built with the test factories; placements are written with set dates.

Results world (unit A, kommuner 0180 and 0184), PERIOD 2026-01-01 – 2026-06-30 and the
previous period 2025-07-04 – 2025-12-31 (181 days each):

  person  enrolled    exit (outcome)            groups                      kommun cons wish
  P1      2025-09-01  2026-03-15 arbete          ungdom                      0180   c1   4322
  P2      2025-10-01  2026-04-10 studier         ungdom                      0180   c1   5223
  P3      2026-01-10  2026-05-20 annan insats    nyanländ                    0184   c2   4322
  P4      2026-02-01  2026-06-30 övrigt          nyanländ, försörjningsstöd  0184   c2   9111
  P5      2025-08-01  2025-11-30 arbete          långtidsarbetslös           0180   c1   4322
  P6      2026-03-01  waiting                    –                           0180   c1   5223
  P7      2026-07-05  waiting (after the period) ungdom                      0180   c2   4322
  P8      2025-01-01  2025-06-30 arbete (before) –                           0180   –    4322
  P9      2025-12-01  waiting                    ungdom                      0180   c2   4322

  placement  who slot(occ)  proposed    decided     started     ended       status / outcome
  PL1        P1  S1 (4322)  2025-11-20  2025-11-25  2025-12-01  2026-02-28  completed arbete
  PL2        P2  S2 (5223)  2026-01-05  2026-01-08  2026-01-15  2026-03-31  completed studier
  PL3        P3  S1 (4322)  2026-01-20  2026-01-22  2026-02-01  2026-03-10  aborted hälsa
  PL4        P3  S3 (9111)  2026-03-15  2026-03-16  –           –           declined
  PL5        P4  S3 (9111)  2026-02-10  2026-02-12  2026-02-20  2026-05-31  completed arbete
  PL6        P6  S2 (5223)  2026-06-20  –           –           –           proposed
  PL7        P5  S1 (4322)  2025-08-10  2025-08-12  2025-08-20  2025-10-31  completed arbete
  PL8        P9  S1 (4322)  2025-12-20  2025-12-22  –           –           withdrawn
  PL9        P9  S2 (5223)  2026-04-01  2026-04-03  2026-04-10  2026-05-15  aborted fick arbete

Unit B has one participant with a placement in the period: it must count nowhere in A.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from matchning.domain.records import PastWork
from matchning.domain.results import Period
from matchning.domain.vocab import Role
from matchning.storage.db import unit_of_work
from matchning.storage.tables import PlacementRow
from tests.factories import World

D = date.fromisoformat
PERIOD = Period(D("2026-01-01"), D("2026-06-30"))


@dataclass
class ResultsWorld:
    unit_a: int
    unit_b: int
    c1: int
    c2: int
    people: dict[str, int]


def _placement(world: World, participant_id: int, slot_id: int, status: str, proposed: str,
               decided: str | None = None, started: str | None = None,
               ended: str | None = None, *, abort_reason: str | None = None,
               outcome: str | None = None, decline_reason: str | None = None) -> None:
    with unit_of_work(world.factory) as session:
        session.add(PlacementRow(
            participant_id=participant_id, slot_id=slot_id, status=status,
            proposed_on=D(proposed), decided_on=D(decided) if decided else None,
            started_on=D(started) if started else None, ended_on=D(ended) if ended else None,
            abort_reason=abort_reason, outcome=outcome, decline_reason=decline_reason,
            outcome_on=D(ended) if outcome and ended else None, snapshot={}))


def build_results_world(world: World) -> ResultsWorld:
    unit_a = world.unit(kommuner=["0180", "0184"])
    unit_b = world.unit(kommuner=["0180"])
    c1 = world.user(Role.consultant, unit_id=unit_a, password=None,  # type: ignore[arg-type]
                    email="c1@resultat.example.se")
    c2 = world.user(Role.consultant, unit_id=unit_a, password=None,  # type: ignore[arg-type]
                    email="c2@resultat.example.se")
    emp = world.employer()
    emp2 = world.employer(name="Städ & Service i Solna AB", kommunkod="0184")
    s1 = world.slot(emp, occupation_code="4322")
    s2 = world.slot(emp, title="Butiksbiträde", occupation_code="5223")
    s3 = world.slot(emp2, title="Lokalvårdare", occupation_code="9111", kommunkod="0184")

    def person(enrolled: str, exit_: tuple[str, str] | None, groups: list[str], kommun: str,
               consultant: int | None, wish: str) -> int:
        extra = {"status": "avslutad", "exit_date": D(exit_[0]), "exit_outcome": exit_[1]} \
            if exit_ else {}
        return world.participant(unit_a, enrolled_on=D(enrolled), target_groups=groups,
                                 kommunkod=kommun, consultant_id=consultant,
                                 wished_occupations=[wish], **extra)

    p = {
        "P1": person("2025-09-01", ("2026-03-15", "arbete"), ["ungdom"], "0180", c1.user_id,
                     "4322"),
        "P2": person("2025-10-01", ("2026-04-10", "studier"), ["ungdom"], "0180", c1.user_id,
                     "5223"),
        "P3": person("2026-01-10", ("2026-05-20", "annan insats"), ["nyanländ"], "0184",
                     c2.user_id, "4322"),
        "P4": person("2026-02-01", ("2026-06-30", "övrigt"), ["nyanländ", "försörjningsstöd"],
                     "0184", c2.user_id, "9111"),
        "P5": person("2025-08-01", ("2025-11-30", "arbete"), ["långtidsarbetslös"], "0180",
                     c1.user_id, "4322"),
        "P6": person("2026-03-01", None, [], "0180", c1.user_id, "5223"),
        "P7": person("2026-07-05", None, ["ungdom"], "0180", c2.user_id, "4322"),
        "P8": person("2025-01-01", ("2025-06-30", "arbete"), [], "0180", None, "4322"),
        "P9": person("2025-12-01", None, ["ungdom"], "0180", c2.user_id, "4322"),
    }
    _placement(world, p["P1"], s1, "completed", "2025-11-20", "2025-11-25", "2025-12-01",
               "2026-02-28", outcome="arbete")
    _placement(world, p["P2"], s2, "completed", "2026-01-05", "2026-01-08", "2026-01-15",
               "2026-03-31", outcome="studier")
    _placement(world, p["P3"], s1, "aborted", "2026-01-20", "2026-01-22", "2026-02-01",
               "2026-03-10", abort_reason="hälsa")
    _placement(world, p["P3"], s3, "declined", "2026-03-15", "2026-03-16",
               decline_reason="Inga platser just nu.")
    _placement(world, p["P4"], s3, "completed", "2026-02-10", "2026-02-12", "2026-02-20",
               "2026-05-31", outcome="arbete")
    _placement(world, p["P6"], s2, "proposed", "2026-06-20")
    _placement(world, p["P5"], s1, "completed", "2025-08-10", "2025-08-12", "2025-08-20",
               "2025-10-31", outcome="arbete")
    _placement(world, p["P9"], s1, "withdrawn", "2025-12-20", "2025-12-22")
    _placement(world, p["P9"], s2, "aborted", "2026-04-01", "2026-04-03", "2026-04-10",
               "2026-05-15", abort_reason="fick arbete")
    other = world.participant(unit_b, enrolled_on=D("2026-01-01"), target_groups=["ungdom"])
    _placement(world, other, s1, "completed", "2026-02-01", "2026-02-02", "2026-02-03",
               "2026-03-01", outcome="arbete")
    return ResultsWorld(unit_a, unit_b, c1.user_id, c2.user_id, p)


@dataclass
class GapWorld:
    unit: int
    people: dict[str, int]
    employers: dict[str, int]
    slots: dict[str, int]


def build_gap_world(world: World) -> GapWorld:
    """Unit G (Stockholm, 0180); every participant waiting, without coordinates (the kommun's
    centroid), 30 km commute, Swedish level D; slots open since 2026-01-01, in 0180 unless
    said.

      Ga1–Ga3 wish 4322 (0180); one 4322 slot with one place (S4322, employer E1):
        4322/0180: 3 participants, all can reach S4322 (good suggestion: a feasible slot in
        their own occupation), 1 place -> demand 3, shortfall 2, affected 2.
      Gd1 wishes 4322 but lives in Solna (0184): 4322/0184 has 1 participant and 1 place
        in reach (S4322) -> shortfall 0, no gap.
      Gb1, Gb2 wish 5223; there is no 5223 slot within reach (one in Göteborg, S5223far),
        only a 5222 slot (E2, same SSYK 3 group) and a 5241 slot (E3, same SSYK 2 group):
        5223/0180: 2 participants, both without a feasible 5223 slot and without a good
        suggestion -> demand 2 + 2 = 4, shortfall 4, affected 2. Call list: E2 (3 digits),
        E3 (2 digits); not the Göteborg employer (out of reach).
      Gc1 wishes 9111 and has worked as 9111: no 9111 slot -> demand 1 + 1 = 2, shortfall
        2, affected 1; no employer with a 91xx slot: empty call list.
    Ranked: 5223/0180 (4), then 9111/0180 (2, shortage outlook 4) before 4322/0180 (2,
    outlook 3).
    """
    unit = world.unit(kommuner=["0180"])
    e1 = world.employer(name="Lagercentralen AB")
    e2 = world.employer(name="Dagligvaror Söder AB")
    e3 = world.employer(name="Event & Demo AB")
    far = world.employer(name="Fackhandel Göteborg AB", kommunkod="1480")
    slots = {
        "S4322": world.slot(e1, occupation_code="4322", capacity=1),
        "S5222": world.slot(e2, title="Butiksbiträde dagligvaror", occupation_code="5222",
                            capacity=1),
        "S5241": world.slot(e3, title="Butiksdemonstratör", occupation_code="5241",
                            capacity=1),
        "S5223far": world.slot(far, title="Butikssäljare", occupation_code="5223",
                               kommunkod="1480", capacity=2),
    }

    def person(wish: str, kommun: str = "0180", **kw) -> int:
        return world.participant(unit, wished_occupations=[wish], kommunkod=kommun,
                                 max_commute_km=30, **kw)

    people = {
        "Ga1": person("4322"), "Ga2": person("4322"), "Ga3": person("4322"),
        "Gd1": person("4322", "0184"),
        "Gb1": person("5223"), "Gb2": person("5223"),
        "Gc1": person("9111", past_work=[PastWork(code="9111", years=2)]),
    }
    return GapWorld(unit, people, {"E1": e1, "E2": e2, "E3": e3, "far": far}, slots)
