"""What every use case needs: the session of the surface's unit of work, who acts, settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from matchning.config import Settings
from matchning.domain.principal import Principal
from matchning.reference import ReferenceData, get_reference


@dataclass
class Context:
    session: Session
    principal: Principal
    settings: Settings
    ref: ReferenceData = field(default_factory=get_reference)
    matcher: Any = None  # services.matcher.Matcher of the process (API and CLI set it)

    @property
    def today(self) -> date:
        return datetime.now(UTC).date()

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
