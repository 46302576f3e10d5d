"""Reads for the fairness report: the monitoring fields of the waiting participants and the
ended placements with their participants' groups. Only services.fairness calls these; the
matching code never reads the monitoring table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matchning.domain.vocab import ParticipantStatus
from matchning.storage.tables import MonitoringRow, ParticipantRow, PlacementRow

ENDED = ("completed", "aborted")  # placements that started and ended: the realised rates
HISTORY_KEYS = ("id", "participant_id", "slot_id", "status", "proposed_on", "decided_on",
                "ended_on", "abort_reason", "outcome", "swedish_level", "target_groups",
                "gender", "birth_year")


def waiting_groups(session: Session, unit_id: int) -> dict[int, dict[str, Any]]:
    """Participant id -> target_groups, swedish_level, gender, birth_year of the unit's
    waiting participants (gender and birth year None when not recorded)."""
    stmt = (select(ParticipantRow.id, ParticipantRow.target_groups,
                   ParticipantRow.swedish_level, MonitoringRow.gender, MonitoringRow.birth_year)
            .outerjoin(MonitoringRow, MonitoringRow.participant_id == ParticipantRow.id)
            .where(ParticipantRow.unit_id == unit_id,
                   ParticipantRow.status == ParticipantStatus.waiting.value))
    return {pid: {"target_groups": tg or [], "swedish_level": sv, "gender": g,
                  "birth_year": by}
            for pid, tg, sv, g, by in session.execute(stmt)}


def ended_placements(session: Session, unit_id: int) -> list[dict[str, Any]]:
    """The started-and-ended placements of the unit's participants, each with the Swedish
    level of its profile snapshot and the participant's groups (HISTORY_KEYS)."""
    stmt = (select(PlacementRow.id, PlacementRow.participant_id, PlacementRow.slot_id,
                   PlacementRow.status, PlacementRow.proposed_on, PlacementRow.decided_on,
                   PlacementRow.ended_on, PlacementRow.abort_reason, PlacementRow.outcome,
                   PlacementRow.snapshot["swedish_level"].as_string(),
                   ParticipantRow.target_groups, MonitoringRow.gender,
                   MonitoringRow.birth_year)
            .join(ParticipantRow, ParticipantRow.id == PlacementRow.participant_id)
            .outerjoin(MonitoringRow, MonitoringRow.participant_id == ParticipantRow.id)
            .where(ParticipantRow.unit_id == unit_id, PlacementRow.status.in_(ENDED))
            .order_by(PlacementRow.id))
    return [dict(zip(HISTORY_KEYS, row, strict=True)) for row in session.execute(stmt)]
