"""Form input to service input, and service errors back to messages next to the fields."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from matchning.domain.messages import translate
from matchning.errors import InvalidInput


def text(form: FormData, name: str) -> str | None:
    """A text field, stripped; an empty field is None."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def many(form: FormData, name: str) -> list[str]:
    """Checkbox groups and multi-selects, plus comma/newline-separated text fields."""
    out: list[str] = []
    for value in form.getlist(name):
        if isinstance(value, str):
            out.extend(v.strip() for v in value.replace("\n", ",").split(","))
    return [v for v in out if v]


def field_errors(exc: InvalidInput | ValidationError) -> dict[str, str]:
    """{field: Swedish message}; errors that belong to no field go under ""."""
    if isinstance(exc, ValidationError):
        details = [translate(e) for e in exc.errors()]  # type: ignore[arg-type]
    else:
        details = exc.details or [{"field": "", "message": exc.message}]
    out: dict[str, str] = {}
    for d in details:
        field = str(d.get("field") or "").split(".")[0]
        out.setdefault(field, str(d.get("message", "")))
    if isinstance(exc, InvalidInput) and not exc.details:
        out.setdefault("", exc.message)
    return out


def filled(values: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values so that a record's defaults apply."""
    return {k: v for k, v in values.items() if v not in (None, "", [])}
