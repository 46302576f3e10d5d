"""Figures for the admin pages, drawn server-side: data in, PNG bytes out.

Built on matplotlib's object API (a `Figure` with the Agg canvas, never pyplot), so that no
global figure state is shared between the server's threads.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

__all__ = ["ndcg_chart"]

MODEL = "model"
# Line styles and markers tell the series apart without colour.
STYLES = [("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1, 1, 1)), "v"), ((0, (1, 2)), "P"),
          ((0, (3, 2, 1, 2, 1, 2)), "X"), ("--", "*")]
HATCHES = ["//", "..", "xx", "\\\\", "++", "oo", "--"]
COMMA = FuncFormatter(lambda v, _pos: f"{v:.1f}".replace(".", ","))  # Swedish decimals


def _ok(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def ndcg_chart(points: Sequence[tuple[str, Mapping[str, float | None]]],
               names: Mapping[str, str], *, metric: str = "NDCG@10") -> bytes:
    """NDCG@10 over versions (one line per system, the model drawn thickest) beside the
    newest version's systems as bars.

    `points` is oldest first: (the version's label, {system: value}); `names` gives each
    system's display name ("model" is the model). With no points the PNG says so.
    """
    fig = Figure(figsize=(10, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    if not points:
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "Ingen utvärderad modellversion ännu", ha="center", va="center",
                fontsize=14)
        return _png(fig)
    top = _top(points)
    over, latest = fig.subplots(1, 2, width_ratios=[3, 2])
    _lines(over, points, names, metric, top)
    _bars(latest, points[-1], names, metric, top)
    fig.legend(loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    return _png(fig)


def _top(points: Sequence[tuple[str, Mapping[str, float | None]]]) -> float:
    """The value axis: up to a little above the highest value (NDCG@10 is in 0..1)."""
    values = [float(v) for _, vals in points for v in vals.values() if _ok(v)]
    return min(1.0, max(values, default=0.0) * 1.2 + 0.05)


def _systems(points: Sequence[tuple[str, Mapping[str, float | None]]]) -> list[str]:
    seen = list(dict.fromkeys(s for _, values in points for s in values))
    return ([MODEL] if MODEL in seen else []) + [s for s in seen if s != MODEL]


def _lines(ax, points, names: Mapping[str, str], metric: str, top: float) -> None:
    x = list(range(len(points)))
    for i, system in enumerate(_systems(points)):
        ys = [v if _ok(v := values.get(system)) else math.nan for _, values in points]
        if system == MODEL:
            ax.plot(x, ys, color="black", linewidth=3, marker="o", markersize=7,
                    label=names.get(system, system), zorder=3)
        else:
            style, marker = STYLES[(i - 1) % len(STYLES)]
            ax.plot(x, ys, linestyle=style, marker=marker, linewidth=1.4, alpha=0.9,
                    label=names.get(system, system))
    ax.set_xticks(x, [label for label, _ in points], rotation=30, ha="right", fontsize=8)
    ax.set_xlim(-0.5, len(points) - 0.5)
    ax.set_ylim(0, top)
    ax.yaxis.set_major_formatter(COMMA)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per version (tid då den sparades)", fontsize=11)
    ax.grid(axis="y", alpha=0.3)


def _bars(ax, point: tuple[str, Mapping[str, float | None]], names: Mapping[str, str],
          metric: str, top: float) -> None:
    label, values = point
    systems = [s for s in _systems([point]) if _ok(values.get(s))]
    heights = [float(values[s]) for s in systems]  # type: ignore[arg-type]
    y = list(range(len(systems)))
    bars = ax.barh(y, heights, color=["black" if s == MODEL else "#8fb3d9" for s in systems],
                   edgecolor="black")
    for i, (bar, system) in enumerate(zip(bars, systems, strict=True)):
        if system != MODEL:
            bar.set_hatch(HATCHES[i % len(HATCHES)])
        ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2,
                f"{bar.get_width():.3f}".replace(".", ","), va="center", fontsize=8)
    ax.set_yticks(y, [names.get(s, s) for s in systems], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, top)
    ax.xaxis.set_major_formatter(COMMA)
    ax.set_xlabel(metric)
    ax.set_title(f"Senaste utvärderade versionen\n({label})", fontsize=11)
    ax.grid(axis="x", alpha=0.3)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
