"""The results report shaped for the page: the data of each plot, its alt text (the same
numbers in words) and the tables beside them."""

from __future__ import annotations

from typing import Any

from matchning.domain.results import DIMENSIONS, NONE, OUTCOMES, Period
from matchning.domain.vocab import TargetGroup
from matchning.services.results import UnitReport
from matchning.services.results_export import LABEL, METRICS, SUMMARY, cell, flat, is_small

FUNNEL = [("proposed", "Föreslagna"), ("accepted", "Accepterade"), ("started", "Startade"),
          ("completed", "Fullföljda"), ("completed_to_work", "Fullföljda → arbete")]


def period_label(p: Period) -> str:
    return f"{p.start.isoformat()} – {p.end.isoformat()}"


def periods(ur: UnitReport) -> tuple[str, str]:
    return period_label(ur.report.period), period_label(ur.report.previous_period)


def funnel_steps(ur: UnitReport) -> list[tuple[str, int, int]]:
    cur, prev = flat(ur.report.total.current), flat(ur.report.total.previous)
    return [(label, int(cur[k]), int(prev[k])) for k, label in FUNNEL]


def wait_groups(ur: UnitReport) -> list[tuple[str, float | None, float | None]]:
    """Every target group (those with no one too, so the chart is the same from year to
    year), then those without a target group when there are any."""
    found = {g.key: g for g in ur.report.breakdowns["malgrupp"]}
    keys = [t.value for t in TargetGroup] + ([NONE] if NONE in found else [])
    out = []
    for k in keys:
        g = found.get(k)
        out.append((ur.labels["malgrupp"].get(k, k),
                    g.current.days_to_first_placement if g else None,
                    g.previous.days_to_first_placement if g else None))
    return out


def _num(value: float | None) -> str:
    return "ingen uppgift" if value is None else cell("", value)


def exits_alt(ur: UnitReport) -> str:
    parts = []
    for q, counts in ur.report.quarters:
        inner = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES)
        parts.append(f"{q}: {sum(counts.values())} avslut ({inner})")
    return "Stapeldiagram, avslut per kvartal och utfall. " + "; ".join(parts) + "."


def funnel_alt(ur: UnitReport) -> str:
    now, before = periods(ur)
    steps = "; ".join(f"{label}: {a} ({b})" for label, a, b in funnel_steps(ur))
    return (f"Liggande stapeldiagram, placeringar steg för steg under {now}, inom parentes "
            f"{before}. {steps}.")


def wait_alt(ur: UnitReport) -> str:
    now, before = periods(ur)
    rows = "; ".join(f"{label}: {_num(a)} dagar ({_num(b)})" for label, a, b in wait_groups(ur))
    return (f"Liggande stapeldiagram, median antal dagar från inskrivning till första "
            f"placering per målgrupp under {now}, inom parentes {before}. {rows}.")


def total_rows(ur: UnitReport) -> list[dict[str, Any]]:
    cur, prev = flat(ur.report.total.current), flat(ur.report.total.previous)
    return [{"label": label, "current": cell(k, cur[k]), "previous": cell(k, prev[k])}
            for k, label in METRICS]


def breakdowns(ur: UnitReport) -> list[dict[str, Any]]:
    """One table per breakdown: a row per group with the SUMMARY figures, this period and
    the previous; groups of fewer than 5 people are marked (an export would blank them)."""
    out = []
    for dim, heading in DIMENSIONS:
        rows = []
        for g in ur.report.breakdowns[dim]:
            a, b = flat(g.current), flat(g.previous)
            rows.append({"label": ur.labels[dim].get(g.key, g.key),
                         "small": is_small(g.current) or is_small(g.previous),
                         "cells": [(cell(k, a[k]), cell(k, b[k])) for k in SUMMARY]})
        out.append({"key": dim, "heading": heading, "rows": rows,
                    "name": heading[0].lower() + heading[1:]})
    return out


def columns() -> list[str]:
    return [LABEL[k] for k in SUMMARY]
