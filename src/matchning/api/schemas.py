"""Response schemas of the API (request bodies are the domain records)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from matchning.domain.placement_flow import STATUS_SV
from matchning.domain.vocab import PlacementStatus
from matchning.services.model_admin import VersionView
from matchning.services.placements import PlacementView
from matchning.services.recommendations import Suggestions
from matchning.services.slots import SlotView

T = TypeVar("T")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class UnitPublic(Out):
    id: int
    external_id: str | None
    name: str
    kommuner: list[str]
    settings: dict[str, Any]


class UserPublic(Out):
    id: int
    email: str
    display_name: str
    role: str
    unit_id: int | None
    employer_id: int | None
    active: bool


class TokenPublic(Out):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedTokenPublic(BaseModel):
    token: str = Field(description="Visas bara en gång; spara den.")
    token_id: int
    user_id: int
    expires_at: datetime


class EmployerPublic(Out):
    id: int
    external_id: str | None
    name: str
    orgnr: str | None
    sector: str
    size_band: str | None
    kommunkod: str
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None


class SlotPublic(Out):
    id: int
    external_id: str | None
    employer_id: int
    employer_name: str
    title: str
    description: str
    occupation_code: str
    occupation_label: str
    required_skills: list[str]
    nice_skills: list[str]
    kommunkod: str
    lat: float | None
    lon: float | None
    capacity: int
    remaining_places: int
    hours_per_week: float | None
    start_date: date
    end_date: date | None
    driving_licences: list[str]
    swedish_level: str | None
    physical_demand: str
    accessible: bool
    supervisor: bool
    may_lead_to_job: bool
    status: str

    @classmethod
    def of(cls, v: SlotView) -> SlotPublic:
        return cls.model_validate({**{k: getattr(v.row, k) for k in cls.model_fields
                                      if hasattr(v.row, k)},
                                   "employer_name": v.employer_name,
                                   "remaining_places": v.remaining_places,
                                   "occupation_label": v.occupation_label})


class PastWorkPublic(Out):
    code: str
    years: float


class MonitoringPublic(Out):
    gender: str | None
    birth_year: int | None
    born_abroad: bool | None


class ParticipantPublic(Out):
    id: int
    unit_id: int
    consultant_id: int | None
    external_id: str | None
    display_name: str
    status: str
    exit_outcome: str | None
    exit_date: date | None
    enrolled_on: date
    kommunkod: str
    postcode: str | None
    lat: float | None
    lon: float | None
    max_commute_km: float
    driving_licences: list[str]
    own_car: bool
    swedish_level: str
    other_languages: list[str]
    education_level: str | None
    wished_occupations: list[str]
    past_work: list[PastWorkPublic]
    skills: list[str]
    profile_text: str
    max_hours_per_week: float | None
    earliest_start: date | None
    needs_supervisor: bool
    adaptations: list[str]
    adaptations_consent_date: date | None
    target_groups: list[str]
    has_personnummer: bool = False
    monitoring: MonitoringPublic | None = None


class ParticipantSummary(BaseModel):
    """What an employer may see of a participant proposed to it: the name and what the
    placement needs."""

    id: int
    display_name: str
    needs_supervisor: bool
    adaptations: list[str]
    max_hours_per_week: float | None
    earliest_start: date | None


class PlacementPublic(BaseModel):
    id: int
    external_id: str | None
    participant_id: int
    slot_id: int
    slot_title: str
    employer_id: int
    status: str
    status_sv: str
    proposed_by: int | None
    proposed_on: date
    decided_on: date | None
    started_on: date | None
    ended_on: date | None
    decline_reason: str | None
    abort_reason: str | None
    note: str | None
    outcome: str | None
    outcome_on: date | None
    participant: ParticipantSummary
    snapshot: dict[str, Any] | None = Field(
        default=None, description="Profilen när placeringen föreslogs (inte för arbetsgivare).")

    @classmethod
    def of(cls, v: PlacementView) -> PlacementPublic:
        r, p = v.row, v.participant
        return cls(
            id=r.id, external_id=r.external_id, participant_id=r.participant_id,
            slot_id=r.slot_id, slot_title=v.slot.title, employer_id=v.slot.employer_id,
            status=r.status, status_sv=STATUS_SV[PlacementStatus(r.status)],
            proposed_by=r.proposed_by, proposed_on=r.proposed_on, decided_on=r.decided_on,
            started_on=r.started_on, ended_on=r.ended_on, decline_reason=r.decline_reason,
            abort_reason=r.abort_reason, note=None if v.employer_view else r.note,
            outcome=r.outcome, outcome_on=r.outcome_on,
            participant=ParticipantSummary(
                id=p.id, display_name=p.display_name, needs_supervisor=p.needs_supervisor,
                adaptations=list(p.adaptations), max_hours_per_week=p.max_hours_per_week,
                earliest_start=p.earliest_start),
            snapshot=None if v.employer_view else r.snapshot,
        )


class PlacementEventPublic(Out):
    id: int
    action: str
    from_status: str | None
    to_status: str
    by_user_id: int | None
    at: datetime
    reason: str | None


class FeedbackPublic(Out):
    id: int
    participant_id: int
    slot_id: int
    user_id: int | None
    reason: str
    created_at: datetime


# --- suggestions (services.recommendations) ---------------------------------------------------


class ReasonPublic(BaseModel):
    code: str = Field(description="Egenskapsgrupp, t.ex. occupation, distance, skills")
    kind: Literal["for", "against"] = Field(description="Talar för eller emot platsen")
    text: str


class RuleHitPublic(BaseModel):
    code: str = Field(description="Regelns kod, t.ex. too_far, not_suitable")
    text: str


class SlotBrief(BaseModel):
    id: int
    external_id: str | None
    title: str
    occupation_code: str
    occupation_label: str


class EmployerBrief(BaseModel):
    id: int
    name: str


class KommunBrief(BaseModel):
    kommunkod: str
    name: str


class SlotEntry(BaseModel):
    """A slot in a list of suggestions or exclusions."""

    slot: SlotBrief
    employer: EmployerBrief
    kommun: KommunBrief
    distance_km: float
    remaining_places: int


class RecommendationPublic(SlotEntry):
    rank: int
    score: float = Field(description="Kalibrerad sannolikhet att placeringen fullföljs")
    reasons: list[ReasonPublic]
    contest: int | None = Field(
        None, description="Hur många andra väntande deltagare i enheten som har platsen bland "
                          "sina tre bästa (förberäknade listor); null utan sådana listor")
    contest_text: str | None = None
    spread_score: float | None = Field(
        None, description="Med spread=true: poängen minus platsens trängselpris, som "
                          "ordningen följer")


class RecommendationsPublic(BaseModel):
    participant_id: int
    model_version: str
    feasible: int = Field(description="Öppna platser som klarar alla regler")
    considered: int = Field(description="Öppna och pausade platser som prövades")
    items: list[RecommendationPublic]

    @classmethod
    def of(cls, s: Suggestions) -> RecommendationsPublic:
        return cls.model_validate({"participant_id": s.subject_id, "items": s.items,
                                   "model_version": s.model_version, "feasible": s.feasible,
                                   "considered": s.considered})


class ExcludedSlotPublic(SlotEntry):
    rules: list[RuleHitPublic] = Field(description="Varje regel platsen bryter mot")


class ExcludedPublic(BaseModel):
    participant_id: int
    model_version: str
    total: int
    items: list[ExcludedSlotPublic]

    @classmethod
    def of(cls, s: Suggestions, total: int) -> ExcludedPublic:
        return cls.model_validate({"participant_id": s.subject_id, "items": s.items,
                                   "model_version": s.model_version, "total": total})


class ParticipantBrief(BaseModel):
    id: int
    external_id: str | None
    display_name: str
    kommunkod: str


class CandidatePublic(BaseModel):
    rank: int
    participant: ParticipantBrief
    distance_km: float
    score: float
    reasons: list[ReasonPublic]


class CandidatesPublic(BaseModel):
    slot_id: int
    model_version: str
    feasible: int = Field(description="Väntande deltagare som klarar alla regler")
    considered: int = Field(description="Enhetens väntande deltagare som prövades")
    items: list[CandidatePublic]

    @classmethod
    def of(cls, s: Suggestions) -> CandidatesPublic:
        return cls.model_validate({"slot_id": s.subject_id, "items": s.items,
                                   "model_version": s.model_version, "feasible": s.feasible,
                                   "considered": s.considered})


# --- model lifecycle (services.model_admin) ---------------------------------------------------


class ModelVersionPublic(BaseModel):
    """A saved model version as the list shows it."""

    version: str
    created_at: datetime
    active: bool
    estimator: str | None = None
    training_window: dict[str, str] | None = Field(
        default=None, description="Första och sista dag i träningshistoriken")
    rows: dict[str, int] | None = Field(default=None,
                                        description="Träningsrader, positiva, placeringar …")
    metrics: dict[str, Any] | None = Field(
        default=None, description="Modellens rad i utvärderingen på det senaste fönstret "
                                  "(versioner från en omträning)")

    @classmethod
    def of(cls, v: VersionView) -> ModelVersionPublic:
        meta = v.meta
        systems = (meta.get("evaluation") or {}).get("systems") or []
        row = next((s for s in systems if s.get("system") == "model"), None)
        return cls(version=meta["version"], created_at=meta["created_at"], active=v.active,
                   estimator=meta.get("estimator"), training_window=meta.get("training_window"),
                   rows=meta.get("rows"),
                   metrics=None if row is None else {k: x for k, x in row.items()
                                                     if k != "system"})


class ModelVersionDetailPublic(ModelVersionPublic):
    metadata: dict[str, Any] = Field(description="Hela metadata.json för versionen")

    @classmethod
    def of(cls, v: VersionView) -> ModelVersionDetailPublic:
        return cls(**ModelVersionPublic.of(v).model_dump(), metadata=v.meta)


class RetrainStartedPublic(BaseModel):
    job_id: int = Field(description="Följ körningen med GET /admin/jobs/{job_id}")
    status: Literal["running"] = "running"


class RetrainJobPublic(Out):
    id: int
    status: str = Field(description="running, promoted, rejected eller failed")
    trigger: str = Field(description="cli, scheduler eller api")
    started_at: datetime
    finished_at: datetime | None
    progress: str
    data_rows: int | None
    candidate_version: str | None
    active_version: str | None = Field(description="Den aktiva versionen när körningen jämförde")
    candidate_metrics: dict[str, Any]
    active_metrics: dict[str, Any]
    reason: str | None = Field(description="Varför kandidaten aktiverades eller inte, eller "
                                           "felet")


class AuditPublic(Out):
    """One audit row: who (user id; none for the system itself), when, what, about whom."""

    id: int
    at: datetime
    user_id: int | None
    action: str = Field(description="t.ex. participant.read, recommendations.read, "
                                    "placement.accept, participant.export, participant.erase, "
                                    "model.promote")
    subject_type: str
    subject_id: str = Field(description="Deltagarens id (efter radering: pseudonymen), "
                                        "modellversionen, …")
    unit_id: int | None
    model_version: str | None = Field(description="Modellversionen bakom förslagen")
    detail: dict[str, Any]
