"""`matchning precompute`: the top k slots for every waiting participant, stored.

The ranking is the live one (`recommendations._rank_for_profile`, then the model's two
stages), so a stored list is what `recommend` would have answered at the time of the run.
The database work stays in this process: reading the catalogue, the profiles and the pair
histories, and replacing the lists. Only the pure part, rules, features and scoring of chunks
of participants, goes through `ml.batch` (locally, or on the Dask cluster of
MATCHNING_DASK_SCHEDULER).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from threadpoolctl import threadpool_limits

from matchning.domain.snapshot import SNAPSHOT_FIELDS, profile_snapshot
from matchning.domain.vocab import Role
from matchning.errors import InvalidInput, NotFound
from matchning.ml import batch
from matchning.ml.model import Prepared
from matchning.ml.rule_defs import PairHistory, RuleSettings
from matchning.reference import ReferenceData
from matchning.services import access, recommendations
from matchning.services.context import Context
from matchning.services.matcher import LoadedModel
from matchning.storage.repositories import base, history, precomputed, users
from matchning.storage.tables import UnitRow

DEFAULT_K = 10
MAX_K = 100  # well inside the first stage's FIRST_STAGE_KEEP, so every stored row has a score
CHUNK_SIZE = 200  # participants per Dask task at most (see ChunkRunner.chunk_size)
GROUP_PARTICIPANTS = 20_000  # participants whose profiles and lists are in memory at once
HISTORY_BATCH = 2_000  # participants per pair-history query (bound parameters stay few)

# (participant id, slot id, rank, score, distance km)
Ranked = tuple[int, int, int, float, float | None]


@dataclass(frozen=True)
class Waiting:
    """One waiting participant as a worker ranks them: the profile snapshot, the unit's rule
    settings and what the participant's history forbids."""

    participant_id: int
    profile: dict[str, Any]
    rules: RuleSettings
    history: PairHistory


@dataclass(frozen=True)
class ScoringDay:
    """What the ranking reads of a Context: the day the rules judge and the reference data.
    A worker gets this instead of a Context, which holds a database session."""

    today: date
    ref: ReferenceData


@dataclass
class UnitSummary:
    unit_id: int
    name: str
    participants: int
    rows: int


@dataclass
class PrecomputeResult:
    model_version: str
    computed_at: datetime
    k: int
    backend: str  # "lokal", "lokal xN" or "dask <address>"
    seconds: float = 0.0
    units: list[UnitSummary] = field(default_factory=list)

    @property
    def participants(self) -> int:
        return sum(u.participants for u in self.units)

    @property
    def rows(self) -> int:
        return sum(u.rows for u in self.units)


def rank_chunk(loaded: LoadedModel, prep: Prepared, day: ScoringDay, k: int,
               people: Sequence[Waiting]) -> list[Ranked]:
    """The top k of each waiting participant of the chunk, as `recommend` ranks them. Pure: no
    database, no clock (runs on a worker)."""
    out: list[Ranked] = []
    # One BLAS/OpenMP thread as in the CLI: faster on shared cores, and the same floats
    # wherever the chunk runs.
    with threadpool_limits(limits=1):
        for w in people:
            # `day` stands in for the Context: the ranking reads only .today and .ref of it.
            _, idx, dist, X = recommendations._rank_for_profile(
                day, loaded, prep, w.profile, w.history, w.rules, recommendations.Filters())  # type: ignore[arg-type]
            order, scores = loaded.model.two_stage(X, recommendations.FIRST_STAGE_KEEP)
            for rank, row in enumerate(order[:k], start=1):
                d = float(dist[row])
                out.append((w.participant_id, int(prep.slots.records[idx[row]]["id"]), rank,
                            float(scores[row]), None if d != d else d))  # NaN: no distance
    return out


def precompute(ctx: Context, unit_id: int | None = None, k: int = DEFAULT_K, *,
               n_jobs: int = 1, chunk_size: int = CHUNK_SIZE) -> PrecomputeResult:
    """Replace the stored top-k lists of the unit's (or every unit's) waiting participants.
    Raises NotFound for an unknown unit and ModelUnavailable without an active model."""
    access.require_role(ctx, Role.system_admin)
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"Antal förslag per deltagare ska vara mellan 1 och {MAX_K}.")
    if n_jobs == 0 or n_jobs < -1:
        raise InvalidInput("Antal lokala processer ska vara minst 1, eller -1 för alla kärnor.")
    units = _units(ctx, unit_id)
    loaded = recommendations._loaded(ctx)
    prep = ctx.matcher.catalogue(ctx.session, loaded, ctx.ref)
    day = ScoringDay(ctx.today, ctx.ref)
    started = time.perf_counter()
    with batch.chunk_runner((loaded, prep, day), scheduler=ctx.settings.dask_scheduler,
                            n_jobs=n_jobs) as run:
        result = PrecomputeResult(loaded.version, ctx.now(), k, run.backend)
        for group in _groups(ctx, units):
            # A chunk may span units (each participant carries the unit's rule settings), so
            # many small units keep every worker busy.
            people = [w for _, waiting in group for w in waiting]
            size = run.chunk_size(len(people), chunk_size)
            ranked = run(rank_chunk, [(k, people[i:i + size])
                                      for i in range(0, len(people), size)])
            by_person: dict[int, list[Ranked]] = {}
            for r in (r for part in ranked for r in part):
                by_person.setdefault(r[0], []).append(r)
            for unit, waiting in group:
                rows = _replace(ctx, unit.id, [w.participant_id for w in waiting],
                                [r for w in waiting for r in by_person.get(w.participant_id, ())],
                                result)
                result.units.append(UnitSummary(unit.id, unit.name, len(waiting), rows))
    result.seconds = time.perf_counter() - started
    return result


def _groups(ctx: Context, units: list[UnitRow]) -> Iterator[list[tuple[UnitRow, list[Waiting]]]]:
    """The units with their waiting participants, in groups of about GROUP_PARTICIPANTS: the
    profiles of a whole country are not held at once."""
    group: list[tuple[UnitRow, list[Waiting]]] = []
    size = 0
    for unit in units:
        waiting = _waiting(ctx, unit)
        group.append((unit, waiting))
        size += len(waiting)
        if size >= GROUP_PARTICIPANTS:
            yield group
            group, size = [], 0
    if group:
        yield group


def _waiting(ctx: Context, unit: UnitRow) -> list[Waiting]:
    """The unit's waiting participants with everything the ranking needs, read here."""
    rules = recommendations.rule_settings(ctx, unit)
    people = history.waiting_profiles(ctx.session, unit.id, SNAPSHOT_FIELDS)
    out: list[Waiting] = []
    for start in range(0, len(people), HISTORY_BATCH):
        part = people[start:start + HISTORY_BATCH]
        hists = recommendations.histories(ctx, unit, [p.id for p in part])
        out += [Waiting(p.id, profile_snapshot(p.fields), rules, hists[p.id]) for p in part]
    return out


def unit_id_of(ctx: Context, ident: str) -> int:
    """The internal id of the unit with internal or external id `ident`."""
    if ident.isdigit() and ctx.session.get(UnitRow, int(ident)) is not None:
        return int(ident)
    unit = base.get_by_external_id(ctx.session, UnitRow, ident)
    if unit is None:
        raise NotFound(f"Enheten {ident} finns inte (varken som internt eller externt id).")
    return unit.id


def _units(ctx: Context, unit_id: int | None) -> list[UnitRow]:
    if unit_id is None:
        return list(ctx.session.scalars(users.units_query()))
    unit = ctx.session.get(UnitRow, unit_id)
    if unit is None:
        raise NotFound(f"Enheten {unit_id} finns inte.")
    return [unit]


def _replace(ctx: Context, unit_id: int, participant_ids: list[int], ranked: list[Ranked],
             result: PrecomputeResult) -> int:
    """The unit's old lists out, the new ones in (committed by the caller's unit of work, so
    readers see either the old lists or the new, never a mix)."""
    precomputed.delete_unit(ctx.session, unit_id)
    for start in range(0, len(participant_ids), precomputed.WRITE_BATCH):
        precomputed.delete_participants(ctx.session,
                                        participant_ids[start:start + precomputed.WRITE_BATCH])
    return precomputed.insert_rows(ctx.session, (
        {"unit_id": unit_id, "participant_id": pid, "slot_id": sid, "rank": rank,
         "score": score, "distance_km": dist, "model_version": result.model_version,
         "computed_at": result.computed_at}
        for pid, sid, rank, score, dist in ranked))
