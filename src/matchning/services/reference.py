"""Read-only look-ups in the reference data, for autocompletion."""

from __future__ import annotations

from typing import Any

from matchning.reference import ReferenceData


def occupations(ref: ReferenceData, q: str, limit: int) -> list[dict[str, Any]]:
    return ref.search_occupations(q, limit)


def occupation(ref: ReferenceData, code: str) -> dict[str, Any] | None:
    occ = ref.occupations.get(code)
    if occ is None:
        return None
    parents = []
    parent = occ.parent
    while parent:
        up = ref.occupations.get(parent)
        if up is None:
            break
        parents.append({"code": up.code, "label": up.label, "level": up.level})
        parent = up.parent
    return {"code": occ.code, "label": occ.label, "level": occ.level, "source": occ.source,
            "parents": parents,
            "skills": ref.skills_by_ssyk.get(ref.jobtech_group_of.get(code, code), [])[:200]}


def municipalities(ref: ReferenceData, q: str, limit: int) -> list[dict[str, Any]]:
    return [{"kommunkod": m.kommunkod, "name": m.name, "lan": m.lan, "lat": m.lat, "lon": m.lon}
            for m in ref.search_municipalities(q, limit)]


def postcode(ref: ReferenceData, code: str) -> dict[str, Any] | None:
    kommun = ref.kommun_for_postcode(code)
    if kommun is None:
        return None
    return {"postcode": code.replace(" ", ""), "kommunkod": kommun,
            "kommun": ref.municipalities[kommun].name}


def skills(ref: ReferenceData, q: str, limit: int) -> list[str]:
    return ref.search_skills(q, limit)
