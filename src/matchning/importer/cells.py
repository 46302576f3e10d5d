"""Parsing one CSV cell into a Python value. Each parser raises `CellError` with a Swedish text.

Formats: dates ISO 8601 (ÅÅÅÅ-MM-DD), booleans true/false, lists joined with `|`,
`past_work` as `kod:år|kod:år`. Numbers take a point or a comma as decimal sign.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
INT_RE = re.compile(r"^[+-]?[0-9]+$")
FLOAT_RE = re.compile(r"^[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)$")
LIST_SEP = "|"


class CellError(ValueError):
    pass


def parse_text(cell: str) -> str:
    return cell


def parse_bool(cell: str) -> bool:
    value = cell.strip().lower()
    if value == "true":
        return True
    if value == "false":
        return False
    raise CellError("Ska vara true eller false.")


def parse_date(cell: str) -> date:
    value = cell.strip()
    if not DATE_RE.match(value):
        raise CellError("Ska vara ett datum (ÅÅÅÅ-MM-DD).")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CellError(f"Datumet {value!r} finns inte.") from None


def parse_int(cell: str) -> int:
    value = cell.strip()
    if not INT_RE.match(value):
        raise CellError("Ska vara ett heltal.")
    return int(value)


def parse_float(cell: str) -> float:
    value = cell.strip()
    if not FLOAT_RE.match(value):
        raise CellError("Ska vara ett tal (t.ex. 12.5).")
    return float(value.replace(",", "."))


def parse_list(cell: str) -> list[str]:
    """`a|b|c` → ["a", "b", "c"]: items are trimmed, empty items dropped."""
    return [item for item in map(str.strip, cell.split(LIST_SEP)) if item]


def parse_past_work(cell: str) -> list[dict[str, Any]]:
    """`5223:2|9111:0.5` → [{"code": "5223", "years": 2.0}, ...]."""
    out: list[dict[str, Any]] = []
    for i, item in enumerate(parse_list(cell), start=1):
        code, sep, years = item.partition(":")
        if not sep:
            raise CellError(f"Värde {i} ({item!r}): ska vara kod:år, t.ex. 5223:2.")
        try:
            out.append({"code": code.strip(), "years": parse_float(years)})
        except CellError:
            raise CellError(f"Värde {i} ({item!r}): antalet år ska vara ett tal, "
                            "t.ex. 5223:1.5.") from None
    return out


PARSERS: dict[str, Callable[[str], Any]] = {
    "text": parse_text,
    "bool": parse_bool,
    "date": parse_date,
    "int": parse_int,
    "float": parse_float,
    "list": parse_list,
    "past_work": parse_past_work,
}


def parse_cell(kind: str, cell: str) -> Any:
    """The value of a non-empty cell of the given kind."""
    return PARSERS[kind](cell)
