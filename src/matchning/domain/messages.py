"""Swedish texts for pydantic validation errors, shared by the API and the importer."""

from __future__ import annotations

from typing import Any

# Swedish texts for the pydantic error types a consultant is likely to meet.
PYDANTIC_SV = {
    "missing": "Fältet måste fyllas i.",
    "string_too_long": "Texten är för lång (högst {max_length} tecken).",
    "string_too_short": "Texten är för kort (minst {min_length} tecken).",
    "string_pattern_mismatch": "Fel format.",
    "string_type": "Ska vara text.",
    "int_parsing": "Ska vara ett heltal.",
    "int_type": "Ska vara ett heltal.",
    "int_from_float": "Ska vara ett heltal.",
    "float_parsing": "Ska vara ett tal.",
    "float_type": "Ska vara ett tal.",
    "bool_parsing": "Ska vara true eller false.",
    "bool_type": "Ska vara true eller false.",
    "date_from_datetime_parsing": "Ska vara ett datum (ÅÅÅÅ-MM-DD).",
    "date_parsing": "Ska vara ett datum (ÅÅÅÅ-MM-DD).",
    "date_type": "Ska vara ett datum (ÅÅÅÅ-MM-DD).",
    "enum": "Ogiltigt värde; tillåtna: {expected}.",
    "literal_error": "Ogiltigt värde; tillåtna: {expected}.",
    "greater_than": "Ska vara större än {gt}.",
    "greater_than_equal": "Ska vara minst {ge}.",
    "less_than": "Ska vara mindre än {lt}.",
    "less_than_equal": "Får vara högst {le}.",
    "too_long": "För många värden (högst {max_length}).",
    "too_short": "För få värden (minst {min_length}).",
    "list_type": "Ska vara en lista.",
    "dict_type": "Ska vara ett objekt.",
    "extra_forbidden": "Okänt fält.",
    "value_error": "{msg}",
    "json_invalid": "Ogiltig JSON.",
    "model_attributes_type": "Ska vara ett objekt.",
    "value_error.email": "Ogiltig e-postadress.",
}


def pydantic_message(err: dict[str, Any]) -> str:
    """The Swedish text for one pydantic error (as in `ValidationError.errors()`)."""
    ctx = {k: v for k, v in (err.get("ctx") or {}).items()}
    template = PYDANTIC_SV.get(err.get("type", ""))
    msg = err.get("msg", "")
    if err.get("type") == "value_error":
        msg = msg.removeprefix("Value error, ")
        if "email" in msg.lower():
            msg = "Ogiltig e-postadress."
    try:
        return template.format(msg=msg, **ctx) if template else msg
    except (KeyError, IndexError):
        return msg


def translate(err: dict[str, Any]) -> dict[str, Any]:
    """A pydantic error as a `{"field", "message"}` detail in Swedish."""
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    return {"field": ".".join(loc), "message": pydantic_message(err), "type": err.get("type")}
