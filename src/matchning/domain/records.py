"""Validated input records for the things the service stores.

The API uses them as request bodies and the importer builds them from CSV rows, so both apply
the same rules. Checks that need the reference data (SSYK codes, kommunkoder) live in
`matchning.domain.validation` and run in the services.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    create_model,
    field_validator,
    model_validator,
)

from matchning.domain.vocab import (
    AdaptationNeed,
    ExitOutcome,
    ParticipantStatus,
    PhysicalDemand,
    Sector,
    SizeBand,
    SlotStatus,
    SwedishLevel,
    TargetGroup,
)

Code4 = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
FreeText = Annotated[str, StringConstraints(max_length=20_000)]
LangCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# A stored row's id as input: the databases hold signed 64-bit integers, so a larger number is
# refused here (422) rather than failing in the database driver.
Id = Annotated[int, Interval(ge=-(2**63), le=2**63 - 1)]


NUL_MESSAGE = "Texten innehåller ett NUL-tecken (\\0), som inte kan sparas."


def refuse_nul(value: Any) -> Any:
    """`value` unchanged; a ValueError when a text in it holds NUL (PostgreSQL cannot store
    one, and no person types one)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(NUL_MESSAGE)
    elif isinstance(value, (list, tuple)):  # a tuple of types: checked faster than a union
        for item in value:
            refuse_nul(item)
    return value


# For text that is not in a record (a search): the same refusal of NUL.
NoNul = AfterValidator(refuse_nul)


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)


class UnitData(Record):
    name: Name
    kommuner: list[Code4] = Field(min_length=1, max_length=50)
    settings: dict[str, Any] = Field(default_factory=dict)
    external_id: ExternalId | None = None


class EmployerData(Record):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    orgnr: Annotated[str, StringConstraints(strip_whitespace=True, max_length=11)] | None = None
    sector: Sector
    size_band: SizeBand | None = None
    kommunkod: Code4
    contact_name: ShortText | None = None
    contact_email: EmailStr | None = None
    contact_phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    external_id: ExternalId | None = None


class SlotData(Record):
    employer_id: Id
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    description: FreeText = ""
    occupation_code: Code4
    required_skills: list[Skill] = Field(default_factory=list, max_length=50)
    nice_skills: list[Skill] = Field(default_factory=list, max_length=50)
    kommunkod: Code4
    lat: float | None = None
    lon: float | None = None
    capacity: int = Field(ge=1, le=100)
    hours_per_week: float | None = Field(default=None, gt=0, le=60)
    start_date: date | None = None  # defaults to the posting date
    end_date: date | None = None
    driving_licences: list[str] = Field(default_factory=list, max_length=15)
    swedish_level: SwedishLevel | None = None
    physical_demand: PhysicalDemand = PhysicalDemand.light
    accessible: bool = False
    supervisor: bool = False
    may_lead_to_job: bool = False
    status: SlotStatus = SlotStatus.open
    external_id: ExternalId | None = None


class PastWork(Record):
    code: Code4
    years: float = Field(ge=0, le=60)


class ParticipantData(Record):
    unit_id: Id | None = None  # defaults to the consultant's unit
    consultant_id: Id | None = None
    external_id: ExternalId | None = None
    personnummer: Annotated[str, StringConstraints(max_length=13)] | None = None
    display_name: Name
    status: ParticipantStatus = ParticipantStatus.waiting
    exit_outcome: ExitOutcome | None = None
    exit_date: date | None = None
    enrolled_on: date | None = None
    kommunkod: Code4 | None = None
    postcode: Annotated[str, StringConstraints(pattern=r"^\d{3} ?\d{2}$")] | None = None
    lat: float | None = None
    lon: float | None = None
    max_commute_km: float = Field(default=30, ge=0, le=500)
    driving_licences: list[str] = Field(default_factory=list, max_length=15)
    own_car: bool = False
    swedish_level: SwedishLevel
    other_languages: list[LangCode] = Field(default_factory=list, max_length=20)
    education_level: Annotated[str, StringConstraints(pattern=r"^[0-6]$")] | None = None
    wished_occupations: list[Code4] = Field(default_factory=list, max_length=20)
    past_work: list[PastWork] = Field(default_factory=list, max_length=30)
    skills: list[Skill] = Field(default_factory=list, max_length=100)
    profile_text: FreeText = ""
    max_hours_per_week: float | None = Field(default=None, gt=0, le=60)
    earliest_start: date | None = None
    needs_supervisor: bool = False
    adaptations: list[AdaptationNeed] = Field(default_factory=list)
    adaptations_consent_date: date | None = None
    target_groups: list[TargetGroup] = Field(default_factory=list)
    gender: Annotated[str, StringConstraints(pattern=r"^(kvinna|man|annat)$")] | None = None
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    born_abroad: bool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ParticipantData:
        if self.adaptations and self.adaptations_consent_date is None:
            raise ValueError("Anpassningsbehov kräver datum för samtycke "
                             "(adaptations_consent_date).")
        if self.status is ParticipantStatus.ended and self.exit_outcome is None:
            raise ValueError("En avslutad deltagare behöver ett utfall (exit_outcome).")
        if self.status is not ParticipantStatus.ended and self.exit_outcome is not None:
            raise ValueError("Utfall (exit_outcome) anges bara när deltagaren är avslutad.")
        if self.kommunkod is None and self.postcode is None:
            raise ValueError("Ange kommunkod eller postnummer.")
        return self


MONITORING_FIELDS = ("gender", "birth_year", "born_abroad")


def make_partial(model: type[Record]) -> type[Record]:
    """A copy of `model` with every field optional and no default: the body of a PATCH.

    Only the fields a caller sends are applied; the merged result is then validated again
    with the full model, so cross-field rules still hold.
    """
    fields = {
        name: (info.annotation | None, Field(default=None, description=info.description))
        for name, info in model.model_fields.items()
    }
    return create_model(f"{model.__name__}Patch", __base__=Record, **fields)  # type: ignore[call-overload]
