"""Turning what goes wrong with one row into (column, Swedish message) pairs."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from pydantic import ValidationError

from matchning.domain.messages import pydantic_message
from matchning.errors import Conflict, InvalidInput, MatchningError
from matchning.importer.columns import Column, column_for

Problem = tuple[str, str]  # (column, message)


class RowProblems(Exception):
    """A row is invalid; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{c}: {m}" for c, m in problems))
        self.problems = problems


def from_validation(columns: tuple[Column, ...], exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = err.get("loc", ())
        field = str(loc[0]) if loc else ""
        message = pydantic_message(err)
        if _lost_zeros(err):
            message += " Koden har fyra siffror; Excel tar ofta bort inledande nollor (0180)."
        if len(loc) > 1 and isinstance(loc[1], int):  # an item of a list column
            message = f"Värde {loc[1] + 1}: {message}"
        out.append((column_for(columns, field, message), message))
    return out


def _lost_zeros(err: dict[str, Any]) -> bool:
    pattern = (err.get("ctx") or {}).get("pattern", "")
    value = err.get("input")
    return pattern == r"^\d{4}$" and isinstance(value, str) and value.isdigit() and len(value) < 4


def from_domain(columns: tuple[Column, ...], exc: MatchningError) -> list[Problem]:
    if isinstance(exc, InvalidInput) and exc.details:
        return [(column_for(columns, str(d.get("field", "")), str(d.get("message", ""))),
                 str(d.get("message", ""))) for d in exc.details]
    field = str(exc.details[0].get("field", "")) if exc.details else ""
    return [(column_for(columns, field, exc.message), exc.message)]


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise RowProblems(problems)


class conflicts_on:  # lower case: used as the function it was, `with conflicts_on("status"):`
    """Report a service's Conflict that names no field on `column` (the one it is about).
    A class, not a generator: it wraps every row of a file."""

    def __init__(self, column: str) -> None:
        self.column = column

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if isinstance(exc, Conflict) and not exc.details:
            raise RowProblems([(self.column, exc.message)]) from None
