"""The results report as tables, CSV, Markdown and JSON, with small groups suppressed.

An export leaves the system (a committee's papers, the unit's spreadsheets), so every group of
fewer than SMALL_GROUP people is blanked, and so is a median over fewer than SMALL_GROUP
values, so that no person can be singled out. The page shows the unit's own staff the
figures unsuppressed (they can see every participant anyway) and marks the small groups.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from matchning.domain.results import ABORT_REASONS, DIMENSIONS, OUTCOMES, Figures, Group
from matchning.services.results import UnitReport

SMALL_GROUP = 5
SUPPRESSED = "<5"

# (key of flat(), Swedish label), in the order every table shows them.
METRICS: list[tuple[str, str]] = [
    ("served", "Deltagare under perioden"),
    ("exits", "Avslut"),
    *[(f"exits.{o}", f"Avslut: {o}") for o in OUTCOMES],
    ("work_or_studies", "Avslut till arbete eller studier"),
    ("work_or_studies_share", "Andel av avsluten till arbete eller studier"),
    ("proposed", "Placeringar föreslagna"),
    ("accepted", "Placeringar accepterade"),
    ("declined", "Placeringar nekade"),
    ("withdrawn", "Placeringar återtagna"),
    ("started", "Placeringar startade"),
    ("completed", "Placeringar avslutade (fullföljda)"),
    ("aborted", "Placeringar avbrutna"),
    *[(f"aborted.{r}", f"Avbrutna: {r}") for r in ABORT_REASONS],
    ("completed_to_work", "Fullföljda placeringar följda av arbete"),
    ("completed_to_work_share", "Andel fullföljda placeringar följda av arbete"),
    ("days_to_first_placement", "Median dagar från inskrivning till första placering"),
    ("days_to_first_placement_n", "Antal med första placering under perioden"),
    ("days_proposal_to_start", "Median dagar från förslag till start"),
    ("days_proposal_to_start_n", "Antal startade placeringar i medianen"),
]
SHARES = {"work_or_studies_share", "completed_to_work_share"}
MEDIANS = {"days_to_first_placement": "days_to_first_placement_n",
           "days_proposal_to_start": "days_proposal_to_start_n"}
# The columns of a breakdown table on the page and in Markdown.
SUMMARY = ["served", "exits", "work_or_studies_share", "started", "completed",
           "completed_to_work_share", "days_to_first_placement"]
LABEL = dict(METRICS)
PREFIX = {"exits_by_outcome": "exits", "aborted_by_reason": "aborted"}


def flat(f: Figures) -> dict[str, Any]:
    """The figures as one level of keys (exits.arbete, aborted.hälsa, ...)."""
    out: dict[str, Any] = {}
    for key, value in f.as_dict().items():
        if isinstance(value, dict):
            prefix = PREFIX.get(key, key)
            out.update({f"{prefix}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def is_small(f: Figures) -> bool:
    return f.people < SMALL_GROUP


def suppressed(f: Figures) -> dict[str, Any]:
    """flat(f) as an export may show it: every figure None when the group is small, and a
    median None when it rests on fewer than SMALL_GROUP values."""
    values = flat(f)
    if is_small(f):
        return {k: None for k in values} | {"people": None}
    for median, n in MEDIANS.items():
        if values[n] < SMALL_GROUP:
            values[median] = None
    return values


def cell(key: str, value: Any) -> str:
    """One figure as Swedish text: shares as percent, medians with one decimal."""
    if value is None:
        return "–"
    if key in SHARES:
        return f"{round(100 * value)} %"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def _groups(ur: UnitReport) -> Iterator[tuple[str, str, Group]]:
    """(dimension heading, group label, group): the total first, then each breakdown."""
    yield "Totalt", ur.unit.name, ur.report.total
    for dim, heading in DIMENSIONS:
        for g in ur.report.breakdowns[dim]:
            yield heading, ur.labels[dim].get(g.key, g.key), g


def to_csv(ur: UnitReport) -> str:
    """Two rows per group (the period and the previous one), one column per figure; small
    groups' figures are empty and marked in the last column. Semicolon-separated with a
    decimal comma, as Swedish spreadsheets open it."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(["Uppdelning", "Grupp", "Period", "Från", "Till", "Personer",
                *[label for _, label in METRICS], "Anmärkning"])
    rep = ur.report
    for heading, label, g in _groups(ur):
        for name, period, f in (("aktuell", rep.period, g.current),
                                ("föregående", rep.previous_period, g.previous)):
            values = suppressed(f)
            note = f"färre än {SMALL_GROUP} personer" if is_small(f) else ""
            w.writerow([heading, label, name, period.start.isoformat(), period.end.isoformat(),
                        SUPPRESSED if is_small(f) else f.people,
                        *[_csv_value(values[k]) for k, _ in METRICS], note])
    return buf.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".").replace(".", ",") or "0"
    return str(value)


def to_markdown(ur: UnitReport) -> str:
    rep = ur.report
    cur = f"{rep.period.start} – {rep.period.end}"
    prev = f"{rep.previous_period.start} – {rep.previous_period.end}"
    lines = [f"# Resultatrapport: {ur.unit.name}", "",
             f"Period {cur}; föregående period {prev}. Grupper med färre än {SMALL_GROUP} "
             f"personer visas inte ({SUPPRESSED}).", "",
             f"| Mått | {cur} | {prev} |", "|---|---:|---:|"]
    now, before = suppressed(rep.total.current), suppressed(rep.total.previous)
    for key, label in METRICS:
        lines.append(f"| {label} | {cell(key, now[key])} | {cell(key, before[key])} |")
    for dim, heading in DIMENSIONS:
        lines += ["", f"## Per {heading[0].lower()}{heading[1:]}", "",
                  "| Grupp | " + " | ".join(LABEL[k] for k in SUMMARY) + " |",
                  "|---|" + "---:|" * len(SUMMARY)]
        for g in rep.breakdowns[dim]:
            a, b = suppressed(g.current), suppressed(g.previous)
            cells = [f"{_md(k, a, g.current)} ({_md(k, b, g.previous)})" for k in SUMMARY]
            lines.append(f"| {ur.labels[dim].get(g.key, g.key)} | " + " | ".join(cells) + " |")
    lines += ["", "Inom parentes: föregående period."]
    return "\n".join(lines) + "\n"


def _md(key: str, values: dict[str, Any], f: Figures) -> str:
    return SUPPRESSED if is_small(f) else cell(key, values[key])


def to_json(ur: UnitReport, *, suppress: bool = True) -> dict[str, Any]:
    """The report as JSON-ready data. With `suppress` (exports) small groups' figures are
    null and marked `suppressed`."""
    rep = ur.report

    def figs(f: Figures) -> dict[str, Any]:
        values = suppressed(f) if suppress else flat(f)
        return {**values, "suppressed": suppress and is_small(f), "small": is_small(f)}

    def group(g: Group, label: str) -> dict[str, Any]:
        return {"key": g.key, "label": label, "current": figs(g.current),
                "previous": figs(g.previous)}

    return {
        "unit": {"id": ur.unit.id, "name": ur.unit.name},
        "period": {"from": rep.period.start.isoformat(), "to": rep.period.end.isoformat()},
        "previous_period": {"from": rep.previous_period.start.isoformat(),
                            "to": rep.previous_period.end.isoformat()},
        "small_group": SMALL_GROUP,
        "total": group(rep.total, ur.unit.name),
        "breakdowns": {dim: [group(g, ur.labels[dim].get(g.key, g.key))
                             for g in rep.breakdowns[dim]] for dim, _ in DIMENSIONS},
        # The quarters split the whole unit's exits: hidden with a small total, as it is.
        "quarters": [] if suppress and is_small(rep.total.current) else
        [{"quarter": q, "exits": counts} for q, counts in rep.quarters],
    }


def to_json_text(ur: UnitReport) -> str:
    return json.dumps(to_json(ur), ensure_ascii=False, indent=2) + "\n"
