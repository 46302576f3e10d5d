"""The slot (praktikplats) form: form fields to a SlotData dict and back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from matchning.domain import validation
from matchning.domain.records import SlotData
from matchning.domain.vocab import DRIVING_LICENCES, PhysicalDemand, SlotStatus, SwedishLevel
from matchning.reference import ReferenceData
from matchning.services import reference
from matchning.storage.tables import EmployerRow, SlotRow
from matchning.web import forms

SWEDISH = [(s.value, f"Minst SFI {s.value}" if len(s.value) == 1 else s.value.capitalize())
           for s in SwedishLevel]
PHYSICAL = [(PhysicalDemand.light.value, "Lätt"), (PhysicalDemand.medium.value, "Medel"),
            (PhysicalDemand.heavy.value, "Tungt (till exempel tunga lyft)")]
LICENCES = [(c, c) for c in DRIVING_LICENCES]
STATUSES = [(s.value, {"open": "Öppna", "paused": "Pausade", "closed": "Stängda"}[s.value])
            for s in SlotStatus]
FLAGS = ("accessible", "supervisor", "may_lead_to_job")
REQUIRED = "Fältet måste fyllas i."
OCCUPATION_HELP = "Välj ett yrke i listan eller skriv en SSYK-kod (4 siffror)."
KOMMUN_HELP = "Välj en kommun i listan eller skriv kommunkoden (4 siffror)."


def employer_choices(rows: Iterable[EmployerRow], ref: ReferenceData) -> list[tuple[int, str]]:
    """(id, "Name (Kommun)") for the employer select, by name."""
    def text(e: EmployerRow) -> str:
        m = ref.municipalities.get(e.kommunkod)
        return f"{e.name} ({m.name})" if m else e.name
    return sorted(((e.id, text(e)) for e in rows), key=lambda c: c[1].lower())


def parse_employer(form: FormData) -> tuple[int | None, dict[str, str]]:
    """The employer chosen in the select (consultants register slots for an employer)."""
    raw = forms.text(form, "employer_id")
    if raw is None:
        return None, {"employer_id": "Välj vilken arbetsgivare platsen hör till."}
    if not raw.isdigit():
        return None, {"employer_id": "Välj en arbetsgivare i listan."}
    return int(raw), {}


def parse(form: FormData, ref: ReferenceData, default_kommun: str | None
          ) -> tuple[dict[str, Any], dict[str, str]]:
    """(values for SlotData without employer_id and status, errors the form itself finds:
    an unknown occupation or kommun text, a required field left empty).

    An empty kommun means the employer's own (`default_kommun`)."""
    errors: dict[str, str] = {}
    occupation_text = forms.text(form, "occupation")
    occupation = reference.occupation_code(ref, occupation_text)
    if occupation_text is None:
        errors["occupation"] = REQUIRED
    elif occupation is None:
        errors["occupation"] = OCCUPATION_HELP
    kommun_text = forms.text(form, "kommun")
    kommun = reference.kommunkod(ref, kommun_text) if kommun_text else default_kommun
    if kommun_text and kommun is None:
        errors["kommun"] = KOMMUN_HELP
    for name in ("title", "capacity"):
        if forms.text(form, name) is None:
            errors[name] = REQUIRED
    values: dict[str, Any] = {
        "title": forms.text(form, "title"),
        "description": forms.text(form, "description") or "",
        "occupation_code": occupation,
        "required_skills": forms.many(form, "required_skills"),
        "nice_skills": forms.many(form, "nice_skills"),
        "kommunkod": kommun,
        "capacity": forms.text(form, "capacity"),
        "hours_per_week": forms.text(form, "hours_per_week"),
        "start_date": forms.text(form, "start_date"),
        "end_date": forms.text(form, "end_date"),
        "driving_licences": forms.many(form, "driving_licences"),
        "swedish_level": forms.text(form, "swedish_level"),
        "physical_demand": forms.text(form, "physical_demand") or PhysicalDemand.light.value,
    }
    values.update({flag: form.get(flag) == "on" for flag in FLAGS})
    return values, errors


def record_errors(values: dict[str, Any], employer_id: int | None) -> dict[str, str]:
    """What the record's own rules say about the values (capacity 0, an end before the start),
    so that a form with an error of its own shows every error at once."""
    try:
        SlotData.model_validate(forms.filled({**values, "employer_id": employer_id or 0}))
        found: dict[str, str] = {}
    except ValidationError as exc:
        found = forms.field_errors(exc)
    start, end = (_date(values.get(k)) for k in ("start_date", "end_date"))
    for problem in validation.check_period(start, end):
        found.setdefault(problem["field"], problem["message"])
    out: dict[str, str] = {}
    for field, message in found.items():
        out.setdefault(field_of(field), message)
    return out


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def edit_patch(values: dict[str, Any], row: SlotRow) -> dict[str, Any]:
    """The patch for an existing slot: every field of the form (an empty optional field is
    cleared), but a blank start date keeps the stored one; a moved slot drops the coordinates
    of its old place, so that distances are measured from its new kommun."""
    patch = dict(values)
    if patch["start_date"] is None:
        patch.pop("start_date")
    if patch["kommunkod"] != row.kommunkod:
        patch["lat"] = patch["lon"] = None
    return patch


def initial(row: SlotRow | None, ref: ReferenceData, *, kommunkod: str | None = None,
            employer_id: int | None = None) -> dict[str, Any]:
    """The form's values for an existing slot (or a new one in the employer's kommun)."""
    if row is None:
        return {"capacity": 1, "physical_demand": PhysicalDemand.light.value,
                "kommun": reference.kommun_display(ref, kommunkod), "employer_id": employer_id,
                "driving_licences": []}
    return {
        "employer_id": row.employer_id, "title": row.title, "description": row.description,
        "occupation": reference.occupation_display(ref, row.occupation_code),
        "required_skills": ", ".join(row.required_skills),
        "nice_skills": ", ".join(row.nice_skills),
        "kommun": reference.kommun_display(ref, row.kommunkod), "capacity": row.capacity,
        "hours_per_week": _number(row.hours_per_week), "start_date": row.start_date,
        "end_date": row.end_date, "driving_licences": list(row.driving_licences),
        "swedish_level": row.swedish_level or "", "physical_demand": row.physical_demand,
        **{flag: bool(getattr(row, flag)) for flag in FLAGS},
    }


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def echo(form: FormData) -> dict[str, Any]:
    """What the user typed, to show again next to the errors."""
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    values["driving_licences"] = forms.many(form, "driving_licences")
    values.update({flag: form.get(flag) == "on" for flag in FLAGS})
    return values


ORDER = ("employer_id", "title", "occupation", "description", "required_skills", "nice_skills",
         "kommun", "capacity", "hours_per_week", "start_date", "end_date", "driving_licences",
         "swedish_level", "physical_demand")


def in_form_order(errors: dict[str, str]) -> dict[str, str]:
    """The errors in the order of the fields, those of no field first."""
    rank = {name: i for i, name in enumerate(ORDER)}
    return dict(sorted(errors.items(), key=lambda kv: rank.get(kv[0], -1)))


def field_of(service_field: str) -> str:
    """Where a service error belongs on the form."""
    return {"occupation_code": "occupation", "kommunkod": "kommun", "lat": "kommun",
            "lon": "kommun", "status": ""}.get(service_field, service_field)


OPTIONS = {"swedish": SWEDISH, "physical": PHYSICAL, "licences": LICENCES,
           "statuses": STATUSES}
