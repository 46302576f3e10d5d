"""The placement board: the viewer's placements in four columns (proposed, accepted, started,
ended), each card with its slot's remaining places and the actions the viewer's side may take.

Placements are read through `placements.list_placements`, so the board is scoped exactly as
the API is (a unit's staff see their unit's, an employer the ones on its own slots).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matchning.domain.placement_flow import TRANSITIONS, Action, Side
from matchning.domain.vocab import ENDED_STATUSES, PlacementStatus, Role
from matchning.services import placements, slots
from matchning.services.context import Context
from matchning.services.placements import PlacementView
from matchning.services.slots import SlotView

OUTCOME_STATUSES = (PlacementStatus.completed, PlacementStatus.aborted)


@dataclass(frozen=True)
class ColumnSpec:
    key: str  # used in the page's query string (Swedish, as the URLs are)
    title: str
    statuses: tuple[PlacementStatus, ...]


COLUMNS = (
    ColumnSpec("foreslagna", "Föreslagen", (PlacementStatus.proposed,)),
    ColumnSpec("accepterade", "Accepterad", (PlacementStatus.accepted,)),
    ColumnSpec("pagaende", "Pågår", (PlacementStatus.started,)),
    ColumnSpec("avslutade", "Avslutad/avbruten", ENDED_STATUSES),
)


@dataclass
class Card:
    placement: PlacementView
    slot: SlotView
    actions: tuple[Action, ...]
    may_set_outcome: bool


@dataclass
class Column:
    key: str
    title: str
    cards: list[Card] = field(default_factory=list)
    total: int = 0
    offset: int = 0
    limit: int = 0
    recent_only: bool = False  # the ended column shows the latest ones, not pages


@dataclass
class Board:
    side: Side | None  # None: the viewer may look but not act (a system admin)
    columns: list[Column]


def viewer_side(ctx: Context) -> Side | None:
    """Which side of a placement the viewer acts for. The board lists only placements of the
    viewer's own unit or own employer, so the side is the same for every card."""
    p = ctx.principal
    if p.role is Role.employer:
        return Side.employer
    if p.is_unit_staff:
        return Side.unit
    return None


def allowed_actions(side: Side | None, status: str) -> tuple[Action, ...]:
    """The actions `side` may take on a placement in `status` (domain.placement_flow)."""
    if side is None:
        return ()
    current = PlacementStatus(status)
    return tuple(a for a, t in TRANSITIONS.items() if side in t.sides and current in t.sources)


def _ended(ctx: Context, scope: dict[str, int | None], recent: int
           ) -> tuple[list[PlacementView], int]:
    """The `recent` latest ended placements (by the day they ended) and how many there are;
    only those shown are read (and audited)."""
    views, total = placements.list_placements(
        ctx, recent, 0, statuses=tuple(s.value for s in ENDED_STATUSES),
        latest_ended_first=True, **scope)
    return list(views), total


def _newest_first(ctx: Context, status: PlacementStatus, scope: dict[str, int | None],
                  limit: int, offset: int) -> tuple[list[PlacementView], int]:
    """One page of the placements in `status`, the newest first (the service pages in id
    order, so the page is taken from the end)."""
    _, total = placements.list_placements(ctx, 0, 0, status=status.value, **scope)
    end = total - offset
    if end <= 0:
        return [], total
    views, _ = placements.list_placements(ctx, min(limit, end), max(end - limit, 0),
                                          status=status.value, **scope)
    return views[::-1], total


def board(ctx: Context, *, participant_id: int | None = None, slot_id: int | None = None,
          offsets: dict[str, int] | None = None, limit: int = 50, recent: int = 15) -> Board:
    """The board for the viewer, for one participant or one slot when asked; `offsets` pages
    the open columns by their key."""
    side = viewer_side(ctx)
    scope = {"participant_id": participant_id, "slot_id": slot_id}
    offsets = offsets or {}
    columns: list[tuple[Column, list[PlacementView]]] = []
    for spec in COLUMNS:
        if spec.statuses == ENDED_STATUSES:
            views, total = _ended(ctx, scope, recent)
            col = Column(spec.key, spec.title, total=total, limit=recent, recent_only=True)
        else:
            offset = max(offsets.get(spec.key, 0), 0)
            views, total = _newest_first(ctx, spec.statuses[0], scope, limit, offset)
            col = Column(spec.key, spec.title, total=total, offset=offset, limit=limit)
        columns.append((col, views))
    rows = list({v.slot.id: v.slot for _, views in columns for v in views}.values())
    slot_views = {sv.row.id: sv for sv in slots.view(ctx, rows)}
    for col, views in columns:
        col.cards = [Card(v, slot_views[v.slot.id], allowed_actions(side, v.row.status),
                          may_set_outcome=side is Side.unit
                          and v.row.status in {s.value for s in OUTCOME_STATUSES})
                     for v in views]
    return Board(side, [c for c, _ in columns])
