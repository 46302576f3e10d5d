"""Small `make_x(**overrides)` factories that go through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from matchning.config import Settings
from matchning.domain.principal import SYSTEM
from matchning.domain.records import EmployerData, ParticipantData, SlotData, UnitData
from matchning.domain.vocab import Role
from matchning.services import employers, participants, slots, units, users
from matchning.services.context import Context
from matchning.storage.db import unit_of_work

_seq = itertools.count(1)

# A valid organisationsnummer (Luhn): 556036-0793 (Volvo Car AB's public number).
VALID_ORGNR = "5560360793"


@dataclass
class Actor:
    user_id: int
    token: str
    role: Role
    unit_id: int | None = None
    employer_id: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class World:
    """Builds rows through the services, each call in its own committed unit of work."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.settings = settings

    def _run(self, fn, *args):
        with unit_of_work(self.factory) as session:
            ctx = Context(session=session, principal=SYSTEM, settings=self.settings)
            return fn(ctx, *args)

    def unit(self, **kw: Any) -> int:
        data = UnitData(**{"name": f"Enhet {next(_seq)}", "kommuner": ["0180", "0184"], **kw})
        return self._run(lambda ctx: units.create(ctx, data).id)

    def user(self, role: Role, *, unit_id: int | None = None, employer_id: int | None = None,
             password: str = "hemligt-lösen-1", email: str | None = None) -> Actor:
        def make(ctx: Context) -> Actor:
            row = users.create(ctx, users.UserData(
                email=email or f"u{next(_seq)}@example.se", role=role, unit_id=unit_id,
                employer_id=employer_id, password=password, display_name="Test"))
            issued = users.issue_token(ctx, row.id, "test")
            return Actor(row.id, issued.token, role, unit_id, employer_id)
        return self._run(make)

    def employer(self, **kw: Any) -> int:
        data = EmployerData(**{"name": f"Arbetsgivare {next(_seq)} AB", "sector": "privat",
                               "kommunkod": "0180", "orgnr": VALID_ORGNR, **kw})
        return self._run(lambda ctx: employers.create(ctx, data).id)

    def slot(self, employer_id: int, **kw: Any) -> int:
        data = SlotData(**{"employer_id": employer_id, "title": "Lagerarbetare",
                           "occupation_code": "4322", "kommunkod": "0180", "capacity": 1,
                           "description": "Plock och pack på lager.",
                           "start_date": date(2026, 1, 1), **kw})
        return self._run(lambda ctx: slots.create(ctx, data).id)

    def participant(self, unit_id: int, **kw: Any) -> int:
        data = ParticipantData(**{"unit_id": unit_id, "display_name": f"Deltagare {next(_seq)}",
                                  "kommunkod": "0180", "swedish_level": "D",
                                  "wished_occupations": ["4322"], **kw})
        return self._run(lambda ctx: participants.create(ctx, data).id)


def slot_body(employer_id: int, **kw: Any) -> dict[str, Any]:
    return {"employer_id": employer_id, "title": "Butiksbiträde", "occupation_code": "5223",
            "kommunkod": "0180", "capacity": 2, "description": "Kassa och påfyllning.", **kw}


def participant_body(**kw: Any) -> dict[str, Any]:
    return {"display_name": "Anna A", "kommunkod": "0180", "swedish_level": "C",
            "wished_occupations": ["5223"], "max_commute_km": 20, **kw}
