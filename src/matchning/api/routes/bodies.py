"""Small request bodies that are not domain records."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from matchning.domain.records import Id, refuse_nul
from matchning.domain.vocab import PlacementOutcome

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)


class LoginIn(Body):
    email: Annotated[str, StringConstraints(max_length=320)]
    password: Annotated[str, StringConstraints(max_length=200)]


class TokenIn(Body):
    name: Annotated[str, StringConstraints(max_length=100)] = ""
    ttl_days: int | None = Field(default=None, ge=1, le=3650)


class UserUpdateIn(Body):
    display_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    active: bool | None = None
    password: Annotated[str, StringConstraints(max_length=200)] | None = None


class ProposeIn(Body):
    participant_id: Id
    slot_id: Id
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class TransitionIn(Body):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    on: date | None = Field(default=None, description="Datum (standard: idag)")


class OutcomeIn(Body):
    outcome: PlacementOutcome
    on: date | None = None


class FeedbackIn(Body):
    slot_id: Id
    reason: Reason
