"""The records' validators as the importer runs them: each record's own schema, without its
per-field NUL check.

`csvread` refuses a row whose cells hold NUL before any record is made, and every text in an
imported record comes from a cell, so that check (`Record._no_nul`, one Python call per field
of every row: a twelfth of the CPU of a participant's import) cannot fail here. Everything
else is the record's own validation, from its own core schema, and makes instances of the
record's own class; `tests/test_import_validators.py` holds the two to the same results.

pydantic-core reuses a class's own validator for a plain model schema (NUL check included),
so only a record with a model validator (`ParticipantData`, the one that counts: 400,000 rows
at national size) is validated without the check; the others are validated as they are.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaValidator

from matchning.domain.records import Record

_NO_NUL = Record.__pydantic_decorators__.field_validators["_no_nul"].func.__func__


def _is_nul_check(schema: dict[str, Any]) -> bool:
    function = schema.get("function")
    return (schema.get("type") == "function-after" and isinstance(function, dict)
            and getattr(function.get("function"), "__func__", None) is _NO_NUL)


def without_nul_check(schema: Any) -> Any:
    """A copy of a core schema with every `Record._no_nul` step replaced by what it wraps."""
    if isinstance(schema, dict):
        while _is_nul_check(schema):
            schema = schema["schema"]
        return {k: without_nul_check(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [without_nul_check(v) for v in schema]
    return schema


@cache
def validator(model: type[BaseModel]) -> SchemaValidator:
    """Validates a dict into a `model` as `model.model_validate` does, NUL check aside."""
    schema = model.__pydantic_core_schema__
    if schema.get("type") == "model":  # pydantic-core would reuse the model's own validator
        return model.__pydantic_validator__  # type: ignore[return-value]
    inner = schema.get("schema")
    config = inner.get("config") if isinstance(inner, dict) else None
    return SchemaValidator(without_nul_check(schema), config)  # type: ignore[arg-type]
