"""Field rules shared by the API, the importer and the demo generator.

Each check returns a list of `{"field", "message"}` problems in Swedish (empty = valid), so a
caller can report every bad field at once.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from matchning.domain.vocab import DRIVING_LICENCES
from matchning.errors import field_error
from matchning.reference import ReferenceData

ORGNR_RE = re.compile(r"^\d{6}-?\d{4}$")
POSTCODE_RE = re.compile(r"^\d{3} ?\d{2}$")
MAX_FREE_TEXT = 20_000


def luhn_ok(digits: str) -> bool:
    """Luhn check over a string of digits (the last one is the check digit)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def normalise_orgnr(value: str) -> str:
    return value.replace("-", "").strip()


def check_orgnr(field: str, value: str | None) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if not ORGNR_RE.match(value.strip()):
        return [field_error(field, "Organisationsnummer ska ha 10 siffror (NNNNNN-NNNN).")]
    if not luhn_ok(normalise_orgnr(value)):
        return [field_error(field, "Organisationsnumret har fel kontrollsiffra.")]
    return []


def check_occupation(ref: ReferenceData, field: str, code: str | None) -> list[dict[str, Any]]:
    if code is None:
        return []
    if not ref.is_unit_group(code):
        return [field_error(field, f"Okänd yrkeskod {code!r}: ange en SSYK 2012-kod med fyra "
                                   "siffror (sök på yrkesbenämning).", value=code)]
    return []


def check_occupations(ref: ReferenceData, field: str, codes: list[str]) -> list[dict[str, Any]]:
    if all(ref.is_unit_group(c) for c in codes):  # the usual case: no field names to format
        return []
    return [e for i, c in enumerate(codes) for e in check_occupation(ref, f"{field}[{i}]", c)]


def check_kommun(ref: ReferenceData, field: str, code: str | None) -> list[dict[str, Any]]:
    if code is None:
        return []
    if not ref.is_kommunkod(code):
        return [field_error(field, f"Okänd kommunkod {code!r}: ange kommunens fyrsiffriga kod.",
                            value=code)]
    return []


def check_licences(field: str, classes: list[str]) -> list[dict[str, Any]]:
    bad = [c for c in classes if c not in DRIVING_LICENCES]
    if bad:
        return [field_error(field, f"Okänd körkortsbehörighet: {', '.join(bad)}. Tillåtna: "
                                   f"{', '.join(DRIVING_LICENCES)}.")]
    return []


def check_coordinates(field: str, lat: float | None, lon: float | None) -> list[dict[str, Any]]:
    if (lat is None) != (lon is None):
        return [field_error(field, "Ange både latitud och longitud, eller ingen av dem.")]
    if lat is not None and lon is not None and not (55.0 <= lat <= 69.1 and 10.9 <= lon <= 24.2):
        return [field_error(field, "Koordinaterna ligger inte i Sverige.")]
    return []


def check_period(start: date | None, end: date | None) -> list[dict[str, Any]]:
    if start and end and end < start:
        return [field_error("end_date", "Slutdatum kan inte vara före startdatum.")]
    return []
