"""Jinja2 set-up: one environment for all pages, with Swedish formatting filters."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from matchning.reference import get_reference
from matchning.web import labels, session

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
env = templates.env
env.trim_blocks = True
env.lstrip_blocks = True


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{round(100 * value)} %"


def _km(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f} km".replace(".", ",") if value < 10 else f"{round(value)} km"


def _datum(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        return value[:10]
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


env.filters.update(pct=_pct, km=_km, datum=_datum, placement_status=labels.placement_status,
                   slot_status=labels.slot_status, role=labels.role)


def _occupation(code: str | None) -> str:
    label = get_reference().occupation_label(code) if code else None
    return f"{label} ({code})" if label else (code or "–")


def _kommun(code: str | None) -> str:
    m = get_reference().municipalities.get(code) if code else None
    return m.name if m else (code or "–")


env.filters.update(occupation=_occupation, kommun=_kommun)
env.globals.update(ACTION=labels.ACTION, SECTOR=labels.SECTOR)


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status: int = 200) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    data = {"user": principal, "csrf": session.csrf_token(request),
            "flashes": session.pop_flashes(request), **(context or {})}
    return templates.TemplateResponse(request, name, data, status_code=status)
