"""What the rows of one file share while it is imported."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from matchning.importer.columns import Column, converter
from matchning.importer.csvread import CsvRow
from matchning.importer.problems import Problem, from_validation
from matchning.importer.validators import validator
from matchning.reference import ReferenceData

M = TypeVar("M", bound=BaseModel)

REQUIRED = "Fältet måste fyllas i."


def file_reference(ref: ReferenceData) -> ReferenceData:
    """The reference data, its skill-name look-up remembered for one file: the same names
    recur row after row, and normalising each (Unicode NFC, case folding) was a twentieth of
    a participant's import. The tables themselves are shared, not copied."""
    mine = copy.copy(ref)
    mine.canonical_skill = functools.cache(ref.canonical_skill)  # type: ignore[method-assign]
    return mine


@dataclass
class FileState:
    columns: tuple[Column, ...]
    header: list[str]
    failed: set[str]  # files of this import that were not stored
    seen: dict[Hashable, int] = field(default_factory=dict)  # row key → line
    touched: set[int] = field(default_factory=set)  # participants whose placements changed
    bulk: bool = True  # new rows wait for the file's end (importer.bulk); False: one by one
    pending: Any = None  # importer.bulk.Pending of this file's new rows
    known: dict[Hashable, int] | None = None  # stored rows' external ids, loaded once
    memo: dict[tuple[str, str], Any] = field(default_factory=dict)
    _convert: Callable[[dict[str, str]], tuple[dict[str, Any], list[Problem]]] | None = None

    def cached(self, kind: str, find: Callable[[str], Any]) -> Callable[[str], Any]:
        """`find` remembered for the file: the rows other files stored do not change while
        this one is imported, so each id is looked up once."""
        def get(ext: str) -> Any:
            key = (kind, ext)
            if key not in self.memo:
                self.memo[key] = find(ext)
            return self.memo[key]
        return get

    def external_id(self, row: CsvRow, problems: list[Problem], *scope: str) -> str:
        """The row's own id; a repeated id (within `scope`) is a problem."""
        ext = row.cells.get("id", "").strip()
        if not ext:
            problems.append(("id", REQUIRED))
            return ext
        key = (*scope, ext)
        if key in self.seen:
            problems.append(("id", f"Id {ext!r} finns redan på rad {self.seen[key]}."))
        else:
            self.seen[key] = row.line
        return ext

    def resolve(self, row: CsvRow, column: str, find: Callable[[str], Any], what: str,
                source: str, problems: list[Problem]) -> Any:
        """The row an external-id column refers to, or None (and a problem)."""
        ext = row.cells.get(column, "").strip()
        if not ext:
            problems.append((column, REQUIRED))
            return None
        found = find(ext)
        if found is None:
            message = f"{what} {ext!r} finns inte (varken i {source} eller i databasen)."
            if source in self.failed:
                message += f" {source} sparades inte eftersom den hade fel."
            problems.append((column, message))
        return found

    def values(self, row: CsvRow, problems: list[Problem]) -> dict[str, Any]:
        if self._convert is None:
            self._convert = converter(self.columns, self.header)
        values, cell_problems = self._convert(row.cells)
        problems.extend(cell_problems)
        return values

    def validate(self, model: type[M], values: dict[str, Any], problems: list[Problem]
                 ) -> M | None:
        """The record, or None with its problems (none repeated for a column already bad).
        Validated as `model.model_validate` does, but for the NUL check that `csvread` has
        made already (`importer.validators`)."""
        try:
            return validator(model).validate_python(values)  # type: ignore[no-any-return]
        except ValidationError as exc:
            flagged = {c for c, _ in problems}
            problems.extend(p for p in from_validation(self.columns, exc) if p[0] not in flagged)
            return None

    def patch(self, data: BaseModel) -> dict[str, Any]:
        """The fields whose columns the file has: a re-import replaces just those."""
        dump = data.model_dump()
        return {c.target: dump[c.target] for c in self.columns
                if c.name in self.header and c.target in dump}
