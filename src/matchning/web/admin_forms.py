"""The unit admin's forms: texts, choices and form input to service input."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData

from matchning.domain.principal import Principal
from matchning.domain.vocab import Role
from matchning.storage.tables import ApiTokenRow
from matchning.web import forms, labels

PASSWORD_MAX = 200
NAME_MAX = 200


@dataclass(frozen=True)
class SettingField:
    key: str
    label: str
    hint: str
    unit: str
    step: str = "1"


# The unit settings (services.unit_settings.UnitSettings) in the order the form shows them.
SETTING_FIELDS = [
    SettingField("start_horizon_days", "Hur långt fram en plats får starta",
                 "Förslagen visar bara praktikplatser som startar inom så här många dagar "
                 "från i dag.", "dagar"),
    SettingField("reduced_hours_max", "Högsta arbetstid vid reducerad arbetstid",
                 "För deltagare med anpassningen reducerad arbetstid föreslås bara platser med "
                 "högst så här många timmar i veckan.", "timmar per vecka", "0.5"),
    SettingField("rejection_days", "Hur länge \"Passar inte\" gäller",
                 "En plats som har markerats \"Passar inte\" för en deltagare visas inte i "
                 "deltagarens förslag under så här många dagar.", "dagar"),
    SettingField("recent_abort_days", "Paus hos arbetsgivaren efter ett avbrott",
                 "Efter en avbruten placering föreslås inga platser hos samma arbetsgivare för "
                 "deltagaren under så här många dagar. 0 betyder ingen paus.", "dagar"),
    SettingField("default_max_commute_km", "Förvald längsta resväg",
                 "Hur långt en deltagare kan resa till en praktikplats, när inget annat har "
                 "angetts för deltagaren.", "km"),
]


def role_choices(p: Principal) -> list[tuple[str, str]]:
    """The roles this admin may give a new user."""
    roles = [Role.consultant, Role.unit_admin]
    if p.is_system_admin:
        roles.append(Role.employer)
    return [(r.value, labels.role(r.value)) for r in roles]


def filter_roles(p: Principal) -> list[tuple[str, str]]:
    roles = list(Role) if p.is_system_admin else [Role.consultant, Role.unit_admin]
    return [(r.value, labels.role(r.value)) for r in roles]


def _int_or_none(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value  # a non-number goes on to be refused


def parse_user(form: FormData, p: Principal) -> tuple[dict[str, Any], dict[str, str]]:
    """(UserData fields, errors found before the service is asked)."""
    role = forms.text(form, "role")
    values: dict[str, Any] = {"email": forms.text(form, "email") or "",
                              "display_name": forms.text(form, "display_name") or "",
                              "role": role}
    if p.is_system_admin:
        # Only the link that fits the role is sent; the other select keeps its value unused.
        values["unit_id"] = None if role == Role.employer.value else \
            _int_or_none(forms.text(form, "unit_id"))
        values["employer_id"] = _int_or_none(forms.text(form, "employer_id")) \
            if role == Role.employer.value else None
    else:
        values["unit_id"] = p.unit_id
    errors: dict[str, str] = {}
    if len(values["display_name"]) > NAME_MAX:
        errors["display_name"] = f"Namnet får ha högst {NAME_MAX} tecken."
    password, again = (str(form.get(k) or "") for k in ("password", "password_again"))
    if len(password) > PASSWORD_MAX:
        errors["password"] = f"Lösenordet får ha högst {PASSWORD_MAX} tecken."
    elif password != again:
        errors["password_again"] = "Lösenorden är inte likadana."
    values["password"] = password or None
    return values, errors


def echo_user(form: FormData) -> dict[str, Any]:
    """What the user typed, for the form shown again (never the password)."""
    return {k: forms.text(form, k) or "" for k in ("email", "display_name", "role", "unit_id",
                                                    "employer_id")}


def parse_settings(form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings as typed (a decimal comma is fine); empty fields are errors."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in SETTING_FIELDS:
        raw = forms.text(form, f.key)
        if raw is None:
            errors[f.key] = "Fyll i ett värde."
        values[f.key] = (raw or "").replace(",", ".")
    return values, errors


def generate_password() -> str:
    """A random password that is easy to read out: 3 groups of 5, no look-alike characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(3))


def token_state(row: ApiTokenRow, now: datetime) -> str:
    if row.revoked_at is not None:
        return "Återkallad"
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    return "Utgången" if expires <= now else "Giltig"
