"""The participant profile form: form fields to a ParticipantData dict and back."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from matchning.domain.records import MONITORING_FIELDS
from matchning.domain.vocab import (
    DRIVING_LICENCES,
    AdaptationNeed,
    ParticipantStatus,
    SwedishLevel,
    TargetGroup,
)
from matchning.reference import ReferenceData
from matchning.services import reference
from matchning.storage.tables import MonitoringRow, ParticipantRow
from matchning.web import forms

WISHED_SLOTS = 3
PAST_SLOTS = 3
SWEDISH = [(s.value, f"SFI {s.value}" if len(s.value) == 1 else s.value.capitalize())
           for s in SwedishLevel]
EDUCATION = [("0", "Ingen avslutad grundskola"), ("1", "Grundskola"), ("2", "Gymnasium, "
             "ej fullföljt"), ("3", "Gymnasium"), ("4", "Eftergymnasial under 2 år"),
             ("5", "Eftergymnasial 2 år eller mer"), ("6", "Forskarutbildning")]
LICENCES = [(c, c) for c in DRIVING_LICENCES]
ADAPTATIONS = [(a.value, a.value.capitalize()) for a in AdaptationNeed]
TARGET_GROUPS = [(t.value, t.value.capitalize()) for t in TargetGroup]
STATUSES = [(s.value, s.value.capitalize()) for s in ParticipantStatus]


def parse(form: FormData, ref: ReferenceData) -> tuple[dict[str, Any], dict[str, str]]:
    """(values for ParticipantData, errors the form itself finds: unknown occupation text)."""
    errors: dict[str, str] = {}
    wished = []
    for i in range(1, WISHED_SLOTS + 1):
        raw = forms.text(form, f"wished_{i}")
        code = reference.occupation_code(ref, raw)
        if raw and code is None:
            errors[f"wished_{i}"] = "Välj ett yrke i listan eller skriv en SSYK-kod (4 siffror)."
        elif code:
            wished.append(code)
    past = []
    for i in range(1, PAST_SLOTS + 1):
        raw = forms.text(form, f"past_{i}")
        code = reference.occupation_code(ref, raw)
        if raw and code is None:
            errors[f"past_{i}"] = "Välj ett yrke i listan eller skriv en SSYK-kod (4 siffror)."
        elif code:
            past.append({"code": code, "years": forms.text(form, f"past_{i}_years") or 0})
    kommun_text = forms.text(form, "kommun")
    kommun = reference.kommunkod(ref, kommun_text)
    if kommun_text and kommun is None:
        errors["kommun"] = "Välj en kommun i listan eller skriv kommunkoden (4 siffror)."
    born = forms.text(form, "born_abroad")
    values = {
        "display_name": forms.text(form, "display_name"),
        "external_id": forms.text(form, "external_id"),
        "personnummer": forms.text(form, "personnummer"),
        "kommunkod": kommun,
        "postcode": forms.text(form, "postcode"),
        "max_commute_km": forms.text(form, "max_commute_km"),
        "swedish_level": forms.text(form, "swedish_level"),
        "other_languages": [v.lower() for v in forms.many(form, "other_languages")],
        "education_level": forms.text(form, "education_level"),
        "wished_occupations": wished,
        "past_work": past,
        "skills": forms.many(form, "skills"),
        "profile_text": forms.text(form, "profile_text") or "",
        "max_hours_per_week": forms.text(form, "max_hours_per_week"),
        "earliest_start": forms.text(form, "earliest_start"),
        "needs_supervisor": form.get("needs_supervisor") == "on",
        "driving_licences": forms.many(form, "driving_licences"),
        "own_car": form.get("own_car") == "on",
        "adaptations": forms.many(form, "adaptations"),
        "adaptations_consent_date": forms.text(form, "adaptations_consent_date"),
        "target_groups": forms.many(form, "target_groups"),
        "gender": forms.text(form, "gender"),
        "birth_year": forms.text(form, "birth_year"),
        "born_abroad": None if born is None else born == "ja",
    }
    return values, errors


def initial(row: ParticipantRow | None, mon: MonitoringRow | None, ref: ReferenceData
            ) -> dict[str, Any]:
    """The form's values for an existing participant (or empty ones for a new)."""
    if row is None:
        return {"swedish_level": "", "wished": [""] * WISHED_SLOTS,
                "past": [("", "")] * PAST_SLOTS}
    wished = [reference.occupation_display(ref, c) for c in row.wished_occupations]
    past = [(reference.occupation_display(ref, w["code"]), w.get("years", ""))
            for w in row.past_work]
    values: dict[str, Any] = {c.key: getattr(row, c.key) for c in ParticipantRow.__table__.c
                              if hasattr(row, c.key)}
    values.update(
        kommun=reference.kommun_display(ref, row.kommunkod),
        wished=(wished + [""] * WISHED_SLOTS)[:WISHED_SLOTS],
        past=(past + [("", "")] * PAST_SLOTS)[:PAST_SLOTS],
        skills=", ".join(row.skills), other_languages=", ".join(row.other_languages))
    for name in MONITORING_FIELDS:
        values[name] = getattr(mon, name) if mon else None
    return values


def echo(form: FormData) -> dict[str, Any]:
    """What the user typed, to show again next to the errors."""
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    for name in ("driving_licences", "adaptations", "target_groups"):
        values[name] = forms.many(form, name)
    values["needs_supervisor"] = form.get("needs_supervisor") == "on"
    values["own_car"] = form.get("own_car") == "on"
    values["wished"] = [form.get(f"wished_{i}") or "" for i in range(1, WISHED_SLOTS + 1)]
    values["past"] = [(form.get(f"past_{i}") or "", form.get(f"past_{i}_years") or "")
                      for i in range(1, PAST_SLOTS + 1)]
    return values


def field_of(service_field: str) -> str:
    """Where a service error belongs on the form."""
    return {"kommunkod": "kommun", "wished_occupations": "wished_1",
            "past_work": "past_1"}.get(service_field, service_field)


OPTIONS = {"swedish": SWEDISH, "education": EDUCATION, "licences": LICENCES,
           "adaptations": ADAPTATIONS, "target_groups": TARGET_GROUPS, "statuses": STATUSES}
