"""Request and response schemas of the allocation plans (`/api/v1/allocations`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from matchning.domain.records import Id, NoNul
from matchning.services.allocation import (
    MAX_PER_PARTICIPANT,
    PER_PARTICIPANT,
    STATUS_SV,
    PairView,
    PlanOptions,
    PlanView,
)


class PairRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    participant_id: Id
    slot_id: Id


class AllocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_id: Id
    method: Literal["exact", "ot"] = "exact"
    fairness_floor: float | None = Field(
        None, gt=0, le=1, description="Ingen målgrupps medelsannolikhet under denna andel av "
                                      "den bästa gruppens (bara med method=exact)")
    pinned: list[PairRef] = Field(default_factory=list, max_length=5000,
                                  description="Par som redan är beslutade och ska ingå")
    excluded: list[PairRef] = Field(default_factory=list, max_length=5000,
                                    description="Par som inte får ingå")
    per_participant: int = Field(PER_PARTICIPANT, ge=1, le=MAX_PER_PARTICIPANT,
                                 description="Kandidatplatser per deltagare (de bästa enligt "
                                             "rangordningen)")

    def options(self) -> PlanOptions:
        return PlanOptions(method=self.method, fairness_floor=self.fairness_floor,
                           pinned=[(p.participant_id, p.slot_id) for p in self.pinned],
                           excluded=[(p.participant_id, p.slot_id) for p in self.excluded],
                           per_participant=self.per_participant)


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, StringConstraints(max_length=2000), NoNul] | None = None


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(max_length=1000), NoNul] | None = Field(
        None, description="Varför förslaget inte följs (krävs)")


class AllocationPairPublic(BaseModel):
    participant_id: int
    display_name: str
    slot_id: int
    slot_title: str
    employer_name: str
    score: float = Field(description="Kalibrerad sannolikhet att placeringen fullföljs")
    pinned: bool
    status: str = Field(description="proposed, accepted eller overridden")
    status_sv: str
    override_reason: str | None
    placement_id: int | None
    decided_by: int | None
    decided_at: datetime | None

    @classmethod
    def of(cls, v: PairView) -> AllocationPairPublic:
        r = v.row
        return cls(participant_id=r.participant_id, display_name=v.display_name,
                   slot_id=r.slot_id, slot_title=v.slot_title, employer_name=v.employer_name,
                   score=round(r.score, 4), pinned=r.pinned, status=r.status,
                   status_sv=STATUS_SV[r.status], override_reason=r.override_reason,
                   placement_id=r.placement_id, decided_by=r.decided_by,
                   decided_at=r.decided_at)


class AllocationPublic(BaseModel):
    id: int
    unit_id: int
    created_at: datetime
    created_by: int | None
    model_version: str
    method: str
    options: dict[str, Any]
    inputs: dict[str, Any] = Field(description="Deltagare, platser, lediga platser, par, "
                                               "placerade, förväntat antal fullföljda")
    pairs: list[AllocationPairPublic]

    @classmethod
    def of(cls, v: PlanView) -> AllocationPublic:
        p = v.plan
        return cls(id=p.id, unit_id=p.unit_id, created_at=p.created_at,
                   created_by=p.created_by, model_version=p.model_version, method=p.method,
                   options=p.options, inputs=p.inputs,
                   pairs=[AllocationPairPublic.of(x) for x in v.pairs])
