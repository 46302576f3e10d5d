"""SQLAlchemy tables. Vocabulary columns hold the enum values of matchning.domain.vocab."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

Json = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC; SQLite hands them back naive, so mark them UTC again."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PKs only

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: Json, list[Any]: Json}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(),
                                                 server_default=func.now(), onupdate=func.now())


class UnitRow(Timestamped, Base):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kommuner: Mapped[list[Any]] = mapped_column(default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class EmployerRow(Timestamped, Base):
    __tablename__ = "employers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    orgnr: Mapped[str | None] = mapped_column(String(10), index=True)
    sector: Mapped[str] = mapped_column(String(20))
    size_band: Mapped[str | None] = mapped_column(String(10))
    kommunkod: Mapped[str] = mapped_column(String(4), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))


class UserRow(Timestamped, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SlotRow(Timestamped, Base):
    __tablename__ = "slots"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    occupation_code: Mapped[str] = mapped_column(String(4), index=True)
    required_skills: Mapped[list[Any]] = mapped_column(default=list)
    nice_skills: Mapped[list[Any]] = mapped_column(default=list)
    kommunkod: Mapped[str] = mapped_column(String(4), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    capacity: Mapped[int] = mapped_column(Integer)
    hours_per_week: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    driving_licences: Mapped[list[Any]] = mapped_column(default=list)
    swedish_level: Mapped[str | None] = mapped_column(String(20))
    physical_demand: Mapped[str] = mapped_column(String(10))
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    may_lead_to_job: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), index=True)
    # Bumped by every change and by every place taken: the row lock and the cache counter.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ParticipantRow(Timestamped, Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("unit_id", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    pnr_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    exit_outcome: Mapped[str | None] = mapped_column(String(20))
    exit_date: Mapped[date | None] = mapped_column(Date)
    enrolled_on: Mapped[date] = mapped_column(Date)
    kommunkod: Mapped[str] = mapped_column(String(4), index=True)
    postcode: Mapped[str | None] = mapped_column(String(6))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    max_commute_km: Mapped[float] = mapped_column(Float)
    driving_licences: Mapped[list[Any]] = mapped_column(default=list)
    own_car: Mapped[bool] = mapped_column(Boolean, default=False)
    swedish_level: Mapped[str] = mapped_column(String(20))
    other_languages: Mapped[list[Any]] = mapped_column(default=list)
    education_level: Mapped[str | None] = mapped_column(String(3))
    wished_occupations: Mapped[list[Any]] = mapped_column(default=list)
    past_work: Mapped[list[Any]] = mapped_column(default=list)  # [{"code", "years"}]
    skills: Mapped[list[Any]] = mapped_column(default=list)
    profile_text: Mapped[str] = mapped_column(Text, default="")
    max_hours_per_week: Mapped[float | None] = mapped_column(Float)
    earliest_start: Mapped[date | None] = mapped_column(Date)
    needs_supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    adaptations: Mapped[list[Any]] = mapped_column(default=list)
    adaptations_consent_date: Mapped[date | None] = mapped_column(Date)
    target_groups: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)


class MonitoringRow(Base):
    """Fairness-monitoring fields, kept apart: the matching code never reads this table."""

    __tablename__ = "participant_monitoring"
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True)
    gender: Mapped[str | None] = mapped_column(String(10))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    born_abroad: Mapped[bool | None] = mapped_column(Boolean)


class PlacementRow(Timestamped, Base):
    __tablename__ = "placements"
    __table_args__ = (Index("ix_placements_slot_status", "slot_id", "status"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), index=True)
    proposed_on: Mapped[date] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)  # accepted, declined or withdrawn
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)  # completed or aborted
    decline_reason: Mapped[str | None] = mapped_column(String(1000))
    abort_reason: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(String(2000))
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_on: Mapped[date | None] = mapped_column(Date)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PlacementEventRow(Base):
    __tablename__ = "placement_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str | None] = mapped_column(String(1000))


class FeedbackRow(Base):
    """A consultant's "passar inte" for a suggested slot."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditRow(Base):
    """Append-only record of reads of personal data and of changes. Rows change only when an
    erasure re-keys them to the pseudonym and leave only through the retention purge."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    user_id: Mapped[int | None] = mapped_column(Id, index=True)
    action: Mapped[str] = mapped_column(String(50))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model_version: Mapped[str | None] = mapped_column(String(64))
    # The unit of the participant the row is about: unit admins see their unit's rows.
    unit_id: Mapped[int | None] = mapped_column(Id, index=True)


class ActiveModelRow(Base):
    """Which model version serves: one row per installation, so every worker agrees."""

    __tablename__ = "active_model"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)  # "default"
    version: Mapped[str] = mapped_column(String(64))
    activated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    activated_by: Mapped[int | None] = mapped_column(Integer)


class ModelActivationRow(Base):
    """Every change of the active model, newest last: the history rollback walks back."""

    __tablename__ = "model_activations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    previous: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))  # train, promote, retrain, rollback
    activated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    activated_by: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(Integer)


class RetrainRunRow(Base):
    """One gated retraining, whatever its end: promoted, rejected or failed."""

    __tablename__ = "retrain_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # running promoted rejected failed
    trigger: Mapped[str] = mapped_column(String(12))              # cli scheduler api
    requested_by: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    progress: Mapped[str] = mapped_column(String(200), default="")
    data_rows: Mapped[int | None] = mapped_column(Integer)
    candidate_version: Mapped[str | None] = mapped_column(String(64))
    active_version: Mapped[str | None] = mapped_column(String(64))
    candidate_metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active_metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str | None] = mapped_column(Text)


class ChangeCounterRow(Base):
    """A counter per table that a worker's cache follows: one indexed read per request
    tells whether anything changed (the slots' counter moves with every edit and every place
    taken or freed)."""

    __tablename__ = "change_counters"
    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class PrecomputedSuggestionRow(Base):
    """One place in a participant's precomputed top-k list (`matchning precompute`): derived
    data, replaced whole per participant on every run and gone with the participant."""

    __tablename__ = "precomputed_suggestions"
    __table_args__ = (UniqueConstraint("participant_id", "rank"),
                      Index("ix_precomputed_suggestions_slot_rank", "slot_id", "rank"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)  # 1 = best
    score: Mapped[float] = mapped_column(Float)  # calibrated probability of completion
    distance_km: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AllocationPlanRow(Base):
    """A capacity-aware plan for one unit (`matchning allocate`): advice, never a decision.
    Kept with what it was computed from, so a consultant can see why a pair was proposed."""

    __tablename__ = "allocation_plans"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the CLI
    model_version: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(12))  # exact | ot
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)  # counts, free places, value


class AllocationPairRow(Base):
    """One proposed pair of a plan and what a consultant decided about it."""

    __tablename__ = "allocation_pairs"
    __table_args__ = (UniqueConstraint("plan_id", "participant_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("allocation_plans.id", ondelete="CASCADE"),
                                         index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)  # calibrated probability of completion
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12))  # proposed | accepted | overridden
    override_reason: Mapped[str | None] = mapped_column(String(1000))
    placement_id: Mapped[int | None] = mapped_column(ForeignKey("placements.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
