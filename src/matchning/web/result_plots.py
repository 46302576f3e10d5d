"""Figures of the results page, drawn server-side: data in, PNG bytes out (as web/plots.py:
matplotlib's object API, no pyplot state shared between threads). Hatches and a black and a
light fill tell the series apart without colour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from matchning.web.plots import _png

__all__ = ["exits_chart", "funnel_chart", "wait_chart"]

CURRENT, PREVIOUS = ("#1f3b5c", ""), ("#c9d8ea", "//")  # (fill, hatch)
OUTCOME_STYLE = [("#1f3b5c", ""), ("#6f93bf", ".."), ("#c9d8ea", "//"), ("#ffffff", "xx")]


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _empty(fig: Figure, text: str) -> bytes:
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=13)
    return _png(fig)


def exits_chart(quarters: Sequence[tuple[str, Mapping[str, int]]],
                outcomes: Sequence[str]) -> bytes:
    """Exits per quarter, stacked by outcome."""
    fig = _figure(8, 4)
    if not quarters or not any(sum(c.values()) for _, c in quarters):
        return _empty(fig, "Inga avslut under perioden")
    ax = fig.add_subplot()
    x = list(range(len(quarters)))
    bottom = [0] * len(quarters)
    for i, outcome in enumerate(outcomes):
        heights = [counts.get(outcome, 0) for _, counts in quarters]
        fill, hatch = OUTCOME_STYLE[i % len(OUTCOME_STYLE)]
        ax.bar(x, heights, bottom=bottom, color=fill, hatch=hatch, edgecolor="black",
               label=outcome)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    for xi, total in zip(x, bottom, strict=True):
        ax.text(xi, total, str(total), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, [q for q, _ in quarters])
    ax.set_ylabel("Avslut")
    ax.set_ylim(0, max(bottom) * 1.15 + 1)
    ax.set_title("Avslut per kvartal och utfall", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    fig.legend(loc="outside right center", fontsize=9, frameon=False)
    return _png(fig)


def funnel_chart(steps: Sequence[tuple[str, int, int]], periods: tuple[str, str]) -> bytes:
    """The placement funnel: (step label, this period, previous period), top step first."""
    fig = _figure(8, 4)
    if not any(a or b for _, a, b in steps):
        return _empty(fig, "Inga placeringar under perioderna")
    ax = fig.add_subplot()
    y = list(range(len(steps)))
    h = 0.38
    for offset, idx, (fill, hatch), label in ((-h / 2, 1, CURRENT, periods[0]),
                                              (h / 2, 2, PREVIOUS, periods[1])):
        values = [s[idx] for s in steps]
        bars = ax.barh([v + offset for v in y], values, height=h, color=fill, hatch=hatch,
                       edgecolor="black", label=label)
        for bar, v in zip(bars, values, strict=True):
            ax.text(bar.get_width(), bar.get_y() + h / 2, f" {v}", va="center", fontsize=8)
    ax.set_yticks(y, [s[0] for s in steps])
    ax.invert_yaxis()
    ax.set_xlabel("Placeringar")
    ax.set_xlim(0, max(max(s[1], s[2]) for s in steps) * 1.15 + 1)
    ax.set_title("Placeringar: från förslag till arbete", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    return _png(fig)


def wait_chart(groups: Sequence[tuple[str, float | None, float | None]],
               periods: tuple[str, str]) -> bytes:
    """Median days from entering the unit to the first placement per target group: (group,
    this period, previous period); None where no one started a first placement."""
    fig = _figure(8, 4)
    if not any(a is not None or b is not None for _, a, b in groups):
        return _empty(fig, "Ingen började sin första placering under perioderna")
    ax = fig.add_subplot()
    y = list(range(len(groups)))
    h = 0.38
    for offset, idx, (fill, hatch), label in ((-h / 2, 1, CURRENT, periods[0]),
                                              (h / 2, 2, PREVIOUS, periods[1])):
        values = [g[idx] for g in groups]
        bars = ax.barh([v + offset for v in y], [v or 0 for v in values], height=h,
                       color=fill, hatch=hatch,
                       edgecolor="black", label=label)
        for bar, v in zip(bars, values, strict=True):
            text = "–" if v is None else f"{v:.0f}" if v == int(v) else f"{v:.1f}".replace(
                ".", ",")
            ax.text(bar.get_width(), bar.get_y() + h / 2, f" {text}", va="center", fontsize=8)
    ax.set_yticks(y, [g[0] for g in groups])
    ax.invert_yaxis()
    top = max((v for g in groups for v in g[1:] if v is not None), default=1.0)
    ax.set_xlim(0, top * 1.2 + 1)
    ax.set_xlabel("Dagar (median)")
    ax.set_title("Dagar från inskrivning till första placering, per målgrupp", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    return _png(fig)
