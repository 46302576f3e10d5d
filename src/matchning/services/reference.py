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


# --- free text from a form field to a code -----------------------------------------------
# Fields autocomplete to "5120 Kocksteward (Kockar och kallskänkor)" or "1480 Göteborg"; a
# user without script types a title or a name, which resolves when it is unambiguous.

def occupation_choice(ref: ReferenceData, q: str, limit: int = 15) -> list[str]:
    return [f"{h['ssyk4']} {h['name']}" + (f" ({h['ssyk4_label']})"
                                            if h["ssyk4_label"] != h["name"] else "")
            for h in ref.search_occupations(q, limit)]


def kommun_choice(ref: ReferenceData, q: str, limit: int = 15) -> list[str]:
    return [f"{m.kommunkod} {m.name}" for m in ref.search_municipalities(q, limit)]


def occupation_code(ref: ReferenceData, text: str | None) -> str | None:
    """The SSYK unit-group code a field means, or None when it cannot tell."""
    if not text:
        return None
    head = text.strip()[:4]
    if head.isdigit() and len(head) == 4:
        return head
    needle = text.strip().lower()
    codes = {h["ssyk4"] for h in ref.search_occupations(needle, 50)
             if h["name"].lower() == needle}
    return codes.pop() if len(codes) == 1 else None


def kommunkod(ref: ReferenceData, text: str | None) -> str | None:
    if not text:
        return None
    head = text.strip()[:4]
    if head.isdigit() and len(head) == 4:
        return head
    needle = text.strip().lower()
    hits = [m.kommunkod for m in ref.search_municipalities(needle, 50)
            if m.name.lower() == needle]
    return hits[0] if len(hits) == 1 else None


def occupation_display(ref: ReferenceData, code: str | None) -> str:
    label = ref.occupation_label(code) if code else None
    return f"{code} {label}" if label else (code or "")


def kommun_display(ref: ReferenceData, code: str | None) -> str:
    m = ref.municipalities.get(code) if code else None
    return f"{code} {m.name}" if m else (code or "")
