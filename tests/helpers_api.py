"""Helpers shared by the API tests: quick users, realistic Swedish bodies, error assertions."""

from __future__ import annotations

from typing import Any

from httpx import Response

from matchning.domain.validation import luhn_ok
from matchning.domain.vocab import Role
from tests.factories import Actor, World

API = "/api/v1"

# Luhn-valid numbers built from Skatteverket's published test series (not real people).
VALID_PNR = "19811218-9876"
VALID_ORGNR_DASHED = "556036-0793"


def quick_user(world: World, role: Role, *, unit_id: int | None = None,
               employer_id: int | None = None, email: str | None = None) -> Actor:
    """A user with a token but no password: skips the (deliberately slow) argon2 hash."""
    return world.user(role, unit_id=unit_id, employer_id=employer_id,
                      password=None, email=email)  # type: ignore[arg-type]


def assert_error(r: Response, status: int, *, code: str | None = None,
                 field: str | None = None) -> dict[str, Any]:
    """The response has `status` and the error shape; `field` (if given) is among the details.

    Returns the `error` object.
    """
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) >= {"code", "message", "details"}, err
    assert isinstance(err["message"], str) and err["message"], err
    assert isinstance(err["details"], list), err
    if code is not None:
        assert err["code"] == code, err
    if field is not None:
        fields = [d.get("field") for d in err["details"]]
        assert field in fields, f"{field!r} not among {fields}: {err}"
    return err


def detail_for(err: dict[str, Any], field: str) -> dict[str, Any]:
    return next(d for d in err["details"] if d.get("field") == field)


def luhn_valid(digits: str) -> bool:
    return luhn_ok(digits)


def employer_body(**kw: Any) -> dict[str, Any]:
    return {"name": "Åhléns Lager & Logistik AB", "orgnr": VALID_ORGNR_DASHED,
            "sector": "privat", "size_band": "50-249", "kommunkod": "0184",
            "contact_name": "Göran Östlund", "contact_email": "goran.ostlund@example.se",
            "contact_phone": "08-123 456 78", **kw}


def slot_body(employer_id: int, **kw: Any) -> dict[str, Any]:
    return {"employer_id": employer_id, "title": "Lagerarbetare, plock och pack",
            "occupation_code": "4322", "kommunkod": "0184", "capacity": 2,
            "description": "Plock, pack och inleverans på centrallagret i Solna. "
                           "Handledare finns på plats.",
            "hours_per_week": 30, "supervisor": True, "physical_demand": "medel", **kw}


def participant_body(**kw: Any) -> dict[str, Any]:
    return {"display_name": "Åsa Öberg", "kommunkod": "0180", "swedish_level": "C",
            "wished_occupations": ["4322", "9111"], "max_commute_km": 25,
            "skills": ["Truckkort"], "profile_text": "Har arbetat på lager i två år.", **kw}


def keys_deep(value: Any) -> set[str]:
    """Every key of every object anywhere inside a JSON value."""
    if isinstance(value, dict):
        out = set(value)
        for v in value.values():
            out |= keys_deep(v)
        return out
    if isinstance(value, list):
        out = set()
        for v in value:
            out |= keys_deep(v)
        return out
    return set()
