"""Employers (arbetsgivare), shared by all units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matchning.domain import validation
from matchning.domain.records import EmployerData
from matchning.domain.vocab import Role
from matchning.errors import Forbidden, InvalidInput
from matchning.services import access
from matchning.services.context import Context
from matchning.storage.repositories import base, catalog
from matchning.storage.tables import EmployerRow

FIELDS = ("name", "orgnr", "sector", "size_band", "kommunkod", "contact_name", "contact_email",
          "contact_phone", "external_id")


def validate(ctx: Context, data: EmployerData) -> None:
    problems = validation.check_orgnr("orgnr", data.orgnr) + \
        validation.check_kommun(ctx.ref, "kommunkod", data.kommunkod)
    if problems:
        raise InvalidInput(details=problems)


def _apply(row: EmployerRow, data: EmployerData) -> None:
    values = data.model_dump()
    values["orgnr"] = validation.normalise_orgnr(data.orgnr) if data.orgnr else None
    for name in FIELDS:
        setattr(row, name, values[name])


def create(ctx: Context, data: EmployerData) -> EmployerRow:
    if ctx.principal.role is Role.employer:
        raise Forbidden("Arbetsgivare kan inte registrera nya arbetsgivare.")
    validate(ctx, data)
    row = EmployerRow()
    _apply(row, data)
    ctx.session.add(row)
    ctx.session.flush()
    return row


def as_data(row: EmployerRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FIELDS}


def update(ctx: Context, employer_id: int, patch: dict[str, Any]) -> EmployerRow:
    row = access.employer(ctx, employer_id)
    data = EmployerData.model_validate({**as_data(row), **patch})
    validate(ctx, data)
    _apply(row, data)
    ctx.session.flush()
    return row


def get(ctx: Context, employer_id: int) -> EmployerRow:
    return access.employer(ctx, employer_id)


def list_employers(ctx: Context, limit: int, offset: int, *, q: str | None = None,
                   kommunkod: str | None = None, sector: str | None = None
                   ) -> tuple[Sequence[EmployerRow], int]:
    p = ctx.principal
    only = p.employer_id if p.role is Role.employer else None
    if p.role is Role.employer and only is None:
        raise Forbidden()
    stmt = catalog.employers_query(q=q, kommunkod=kommunkod, sector=sector, only_id=only)
    return base.page(ctx.session, stmt, limit, offset)
