"""Swedish words for the codes the pages show."""

from __future__ import annotations

from matchning.domain.placement_flow import STATUS_SV

PLACEMENT_STATUS = {s.value: text.capitalize() for s, text in STATUS_SV.items()}
SLOT_STATUS = {"open": "Öppen", "paused": "Pausad", "closed": "Stängd"}
ROLE = {"consultant": "Arbetskonsulent", "employer": "Arbetsgivare",
        "unit_admin": "Enhetsadministratör", "system_admin": "Systemadministratör"}
ACTION = {
    "accept": "Acceptera", "decline": "Neka", "withdraw": "Återta", "start": "Starta",
    "complete": "Avsluta", "abort": "Avbryt",
}
SECTOR = {"privat": "Privat", "offentlig": "Offentlig", "ideell": "Ideell"}


def placement_status(code: str | None) -> str:
    return PLACEMENT_STATUS.get(code or "", code or "")


def slot_status(code: str | None) -> str:
    return SLOT_STATUS.get(code or "", code or "")


def role(code: str | None) -> str:
    return ROLE.get(code or "", code or "")
