"""Queries that feed the matching engine: slot catalogue, placement history, feedback."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, exists, func, null, select, union_all
from sqlalchemy.orm import Session

from matchning.domain.vocab import ParticipantStatus, SlotStatus
from matchning.storage.repositories import counters, models
from matchning.storage.repositories.catalog import occupied_places
from matchning.storage.tables import (
    ActiveModelRow,
    ChangeCounterRow,
    EmployerRow,
    FeedbackRow,
    ParticipantRow,
    PlacementRow,
    PrecomputedSuggestionRow,
    SlotRow,
    UnitRow,
)

SLOT_COLUMNS = (
    "id", "external_id", "employer_id", "title", "description", "occupation_code",
    "required_skills", "nice_skills", "kommunkod", "lat", "lon", "capacity", "hours_per_week",
    "start_date", "end_date", "driving_licences", "swedish_level", "physical_demand",
    "accessible", "supervisor", "may_lead_to_job", "status",
)


def catalogue_counter(session: Session) -> tuple[int, int]:
    """Changes whenever a slot is added (its id is the new maximum) or edited, or a place is
    taken or freed (each bumps the slots' change counter): the key of the per-process slot
    cache. Two index look-ups, whatever the number of slots."""
    top = session.scalar(select(func.max(SlotRow.id))) or 0
    return counters.value(session, counters.SLOTS), int(top)


def _serving_columns(unit_id: Any) -> tuple[Any, ...]:
    return (select(ActiveModelRow.version).where(ActiveModelRow.name == models.NAME)
            .scalar_subquery(),
            select(ChangeCounterRow.value).where(ChangeCounterRow.name == counters.SLOTS)
            .scalar_subquery(),
            select(func.max(SlotRow.id)).scalar_subquery(),
            exists().where(PrecomputedSuggestionRow.unit_id == unit_id))


_SERVING_STATE = select(*_serving_columns(bindparam("unit_id")))
_PARTICIPANT_AND_STATE = (
    select(ParticipantRow, UnitRow, *_serving_columns(ParticipantRow.unit_id))
    .outerjoin(UnitRow, UnitRow.id == ParticipantRow.unit_id)
    .where(ParticipantRow.id == bindparam("participant_id")))


@dataclass(frozen=True)
class ServingState:
    model_version: str | None
    catalogue_key: tuple[int, int]  # as `catalogue_counter`
    unit_has_lists: bool  # `matchning precompute` stored lists for the unit asked about

    @classmethod
    def of(cls, values: Sequence[Any]) -> ServingState:
        return cls(values[0], (int(values[1] or 0), int(values[2] or 0)), bool(values[3]))


def serving_state(session: Session, unit_id: int | None = None) -> ServingState:
    """What a suggestion request compares with the worker's cached model and catalogue, and
    whether the unit has precomputed lists (the contest note), in one round trip."""
    return ServingState.of(session.execute(_SERVING_STATE, {"unit_id": unit_id}).one())


def participant_and_state(session: Session, participant_id: int
                          ) -> tuple[ParticipantRow | None, UnitRow | None, ServingState | None]:
    """The participant, its unit and `serving_state` for its unit, in one round trip (a
    suggestion list's first read); (None, None, None) when there is no such participant."""
    row = session.execute(_PARTICIPANT_AND_STATE, {"participant_id": participant_id}).first()
    if row is None:
        return None, None, None
    return row[0], row[1], ServingState.of(row[2:])


def slot_records(session: Session, *, only_open: bool = False,
                 statuses: tuple[str, ...] | None = None,
                 slot_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Slots as plain dicts with their employer's name, sector and size, and free places."""
    # Count taken places only for the slots asked for: one slot must not scan every placement.
    taken = occupied_places(slot_ids).subquery()
    cols = [getattr(SlotRow, c) for c in SLOT_COLUMNS]
    stmt = (select(*cols, EmployerRow.name, EmployerRow.sector, EmployerRow.size_band,
                   func.coalesce(taken.c.taken, 0))
            .join(EmployerRow, EmployerRow.id == SlotRow.employer_id)
            .outerjoin(taken, taken.c.slot_id == SlotRow.id)
            .order_by(SlotRow.id))
    if only_open:
        stmt = stmt.where(SlotRow.status == SlotStatus.open.value)
    if statuses is not None:
        stmt = stmt.where(SlotRow.status.in_(statuses))
    if slot_ids is not None:
        stmt = stmt.where(SlotRow.id.in_(slot_ids))
    out = []
    for row in session.execute(stmt):
        rec = dict(zip(SLOT_COLUMNS, row[:len(SLOT_COLUMNS)], strict=True))
        rec["employer_name"], rec["sector"], rec["size_band"], taken_n = row[len(SLOT_COLUMNS):]
        rec["remaining"] = max(0, rec["capacity"] - int(taken_n))
        out.append(rec)
    return out


def placement_history(session: Session) -> list[dict[str, Any]]:
    stmt = (select(PlacementRow.id, PlacementRow.participant_id, PlacementRow.slot_id,
                   SlotRow.employer_id, PlacementRow.status, PlacementRow.proposed_on,
                   PlacementRow.decided_on, PlacementRow.started_on, PlacementRow.ended_on,
                   PlacementRow.abort_reason, PlacementRow.outcome, PlacementRow.snapshot)
            .join(SlotRow, SlotRow.id == PlacementRow.slot_id).order_by(PlacementRow.id))
    keys = ("id", "participant_id", "slot_id", "employer_id", "status", "proposed_on",
            "decided_on", "started_on", "ended_on", "abort_reason", "outcome", "snapshot")
    return [dict(zip(keys, row, strict=True)) for row in session.execute(stmt)]


def placement_columns(session: Session) -> dict[str, list[Any]]:
    """`placement_history` as one list per column (a DataFrame's input, without a dict per
    placement), each distinct snapshot decoded once and shared: a participant's placements
    mostly carry the same profile, and a million decoded snapshots would take gigabytes."""
    keys = ("id", "participant_id", "slot_id", "employer_id", "status", "proposed_on",
            "decided_on", "started_on", "ended_on", "abort_reason", "outcome")
    stmt = (select(PlacementRow.id, PlacementRow.participant_id, PlacementRow.slot_id,
                   SlotRow.employer_id, PlacementRow.status, PlacementRow.proposed_on,
                   PlacementRow.decided_on, PlacementRow.started_on, PlacementRow.ended_on,
                   PlacementRow.abort_reason, PlacementRow.outcome,
                   cast(PlacementRow.snapshot, Text))
            .join(SlotRow, SlotRow.id == PlacementRow.slot_id).order_by(PlacementRow.id))
    out: dict[str, list[Any]] = {k: [] for k in (*keys, "snapshot")}
    columns = [out[k] for k in keys]
    snapshots = out["snapshot"]
    seen: dict[str, Any] = {}
    for row in session.execute(stmt).yield_per(20_000):
        for column, value in zip(columns, row, strict=False):
            column.append(value)
        text = row[-1]
        snap = seen.get(text)
        if snap is None:
            snap = seen[text] = json.loads(text) if text is not None else {}
        snapshots.append(snap)
    return out


def feedback_history(session: Session) -> list[dict[str, Any]]:
    stmt = (select(FeedbackRow.participant_id, FeedbackRow.slot_id, SlotRow.employer_id,
                   FeedbackRow.created_at)
            .join(SlotRow, SlotRow.id == FeedbackRow.slot_id).order_by(FeedbackRow.id))
    keys = ("participant_id", "slot_id", "employer_id", "created_at")
    return [dict(zip(keys, row, strict=True)) for row in session.execute(stmt)]


def profile_fields(session: Session, ids: list[int], names: tuple[str, ...]
                   ) -> dict[int, dict[str, Any]]:
    """id -> the columns `names` of the participants `ids`, in plain queries (no ORM rows)."""
    cols = [getattr(ParticipantRow, n) for n in names]
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 10_000):
        for row in session.execute(select(ParticipantRow.id, *cols).where(
                ParticipantRow.id.in_(ids[start:start + 10_000]))):
            out[row[0]] = dict(zip(names, row[1:], strict=True))
    return out


def participant_rows(session: Session, ids: list[int] | None = None, *,
                     unit_id: int | None = None, status: str | None = None
                     ) -> list[ParticipantRow]:
    stmt = select(ParticipantRow).order_by(ParticipantRow.id)
    if ids is not None:
        stmt = stmt.where(ParticipantRow.id.in_(ids))
    if unit_id is not None:
        stmt = stmt.where(ParticipantRow.unit_id == unit_id)
    if status is not None:
        stmt = stmt.where(ParticipantRow.status == status)
    return list(session.scalars(stmt))


# Built once (a suggestion request runs it every time): one round trip, the placements, then
# the "passar inte" marks (status NULL).
_PAIR_HISTORY = union_all(
    select(PlacementRow.participant_id, PlacementRow.slot_id, SlotRow.employer_id,
           PlacementRow.status, PlacementRow.ended_on)
    .join(SlotRow, SlotRow.id == PlacementRow.slot_id)
    .where(PlacementRow.participant_id.in_(bindparam("ids", expanding=True))),
    select(FeedbackRow.participant_id, FeedbackRow.slot_id, null(), null(), null())
    .where(FeedbackRow.participant_id.in_(bindparam("ids", expanding=True)),
           FeedbackRow.created_at >= bindparam("rejected_since")))


def pair_history(session: Session, participant_ids: list[int], rejected_since: datetime,
                 aborted_since: date) -> dict[int, dict[str, set[int]]]:
    """Per participant: slots with earlier placements (not withdrawn), slots marked
    "passar inte" since `rejected_since`, employers with an abort ended since
    `aborted_since`."""
    out: dict[int, dict[str, set[int]]] = {
        p: {"blocked": set(), "rejected": set(), "aborted": set()} for p in participant_ids}
    if not participant_ids:
        return out
    rows = session.execute(_PAIR_HISTORY, {"ids": list(participant_ids),
                                           "rejected_since": rejected_since})
    for pid, sid, emp, status, ended in rows:
        if status is None:
            out[pid]["rejected"].add(sid)
            continue
        if status != "withdrawn":
            out[pid]["blocked"].add(sid)
        if status == "aborted" and ended is not None and ended >= aborted_since:
            out[pid]["aborted"].add(emp)
    return out


def monitoring_by_participant(session: Session) -> dict[int, dict[str, Any]]:
    """Fairness-monitoring fields with target groups, for evaluation reports only (the
    matching itself never reads them)."""
    from matchning.storage.tables import MonitoringRow
    out = {pid: {"target_groups": tg or []} for pid, tg in session.execute(
        select(ParticipantRow.id, ParticipantRow.target_groups))}
    for pid, gender, birth_year, abroad in session.execute(
            select(MonitoringRow.participant_id, MonitoringRow.gender,
                   MonitoringRow.birth_year, MonitoringRow.born_abroad)):
        out.setdefault(pid, {}).update(gender=gender, birth_year=birth_year,
                                       born_abroad=abroad)
    return out


def ids_by_external(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """(participant external id -> id, slot external id -> id)."""
    people = {e: i for i, e in session.execute(
        select(ParticipantRow.id, ParticipantRow.external_id)
        .where(ParticipantRow.external_id.is_not(None)))}
    slots = {e: i for i, e in session.execute(
        select(SlotRow.id, SlotRow.external_id).where(SlotRow.external_id.is_not(None)))}
    return people, slots


@dataclass(frozen=True)
class WaitingProfile:
    id: int
    external_id: str | None
    display_name: str
    version: int
    fields: dict[str, Any]  # the columns named in `names`


def waiting_profiles(session: Session, unit_id: int, names: tuple[str, ...],
                     ids: list[int] | None = None) -> list[WaitingProfile]:
    """The unit's waiting participants (of `ids` only, when given) with the columns `names`,
    in one plain query (no ORM objects: a unit may have thousands)."""
    fields = [getattr(ParticipantRow, f) for f in names]
    stmt = (select(ParticipantRow.id, ParticipantRow.external_id,
                   ParticipantRow.display_name, ParticipantRow.version, *fields)
            .where(ParticipantRow.unit_id == unit_id,
                   ParticipantRow.status == ParticipantStatus.waiting.value)
            .order_by(ParticipantRow.id))
    if ids is not None:
        stmt = stmt.where(ParticipantRow.id.in_(ids))
    return [WaitingProfile(row[0], row[1], row[2], row[3],
                           dict(zip(names, row[4:], strict=True)))
            for row in session.execute(stmt)]


def waiting_versions(session: Session, unit_id: int) -> list[tuple[int, int]]:
    """(id, version) of the unit's waiting participants, by id: what a cached matrix of them
    is compared with (two small columns, no profile decoded)."""
    return [(i, v) for i, v in session.execute(
        select(ParticipantRow.id, ParticipantRow.version)
        .where(ParticipantRow.unit_id == unit_id,
               ParticipantRow.status == ParticipantStatus.waiting.value)
        .order_by(ParticipantRow.id))]


def participant_states(session: Session, ids: list[int]) -> dict[int, tuple[str, int, int]]:
    """(status, version, unit id) of each participant of `ids` that still exists."""
    if not ids:
        return {}
    stmt = select(ParticipantRow.id, ParticipantRow.status, ParticipantRow.version,
                  ParticipantRow.unit_id).where(ParticipantRow.id.in_(ids))
    return {pid: (status, version, unit) for pid, status, version, unit in session.execute(stmt)}


@dataclass(frozen=True)
class SlotHistory:
    """Who the history keeps away from one slot (the per-slot view of `pair_history`)."""

    blocked: frozenset[int]   # participants with a placement on the slot (not withdrawn)
    rejected: frozenset[int]  # participants who marked it "passar inte" since the cut-off
    aborted: frozenset[int]   # participants with an abort at its employer since the cut-off


def slot_history(session: Session, slot_id: int, employer_id: int, rejected_since: datetime,
                 aborted_since: date) -> SlotHistory:
    """Three indexed reads keyed by the slot and its employer, whatever the number of
    participants: the same sets `pair_history` gives, seen from the slot."""
    blocked = session.scalars(select(PlacementRow.participant_id).where(
        PlacementRow.slot_id == slot_id, PlacementRow.status != "withdrawn"))
    rejected = session.scalars(select(FeedbackRow.participant_id).where(
        FeedbackRow.slot_id == slot_id, FeedbackRow.created_at >= rejected_since))
    # The employer's slots first, then their placements by (slot, status): as a join,
    # SQLite without statistics walks every aborted placement instead (0.6 s at 785,000).
    employer_slots = select(SlotRow.id).where(SlotRow.employer_id == employer_id)
    aborted = session.scalars(select(PlacementRow.participant_id).where(
        PlacementRow.slot_id.in_(employer_slots), PlacementRow.status == "aborted",
        PlacementRow.ended_on.is_not(None), PlacementRow.ended_on >= aborted_since))
    return SlotHistory(frozenset(blocked), frozenset(rejected), frozenset(aborted))
