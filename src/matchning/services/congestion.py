"""Congestion-aware suggestions: how contested each suggested slot is, and the slots' prices
from the unit's transport plan for `?spread=true` (docs/allocation.md).

Both read the unit's precomputed lists (`matchning precompute`): the contest count is how
many other waiting participants have the slot among the first CONTEST_TOP of theirs; the
prices come from entropic optimal transport of those lists onto the slots' free places.
"""

from __future__ import annotations

import threading
from typing import Any

from matchning.errors import Conflict
from matchning.ml import allocation as A
from matchning.ml.model import Prepared
from matchning.services.context import Context
from matchning.storage.repositories import history, precomputed

CONTEST_TOP = 3
SPREAD_REG = 0.02
_CACHE_SIZE = 32
_cache: dict[tuple, dict[int, float]] = {}
_lock = threading.Lock()

NO_LISTS = ("Det finns inga förberäknade listor för enheten ännu; spridda förslag kräver att "
            "`matchning precompute` har körts.")


def contest_text(n: int | None) -> str | None:
    """"7 andra väntande deltagare har den bland sina tre bästa"."""
    if n is None:
        return None
    if n == 0:
        return "Ingen annan väntande deltagare har den bland sina tre bästa"
    if n == 1:
        return "1 annan väntande deltagare har den bland sina tre bästa"
    return f"{n} andra väntande deltagare har den bland sina tre bästa"


def contest_counts(ctx: Context, unit_id: int, participant_id: int, slot_ids: list[int],
                   has_lists: bool) -> dict[int, int] | None:
    """Slot id -> how many other waiting participants of the unit have it in their top
    three; None when the unit has no stored lists (`has_lists`, read with the serving state:
    `history.serving_state`), for then nothing is known."""
    if not has_lists:
        return None
    counts = precomputed.top_counts(ctx.session, unit_id, top=CONTEST_TOP, slot_ids=slot_ids,
                                    exclude_participant_id=participant_id)
    return {sid: counts.get(sid, 0) for sid in slot_ids}


def with_contest(ctx: Context, unit_id: int, participant_id: int,
                 items: list[dict[str, Any]], has_lists: bool) -> None:
    """Add `contest` and `contest_text` to each suggestion item (in place)."""
    counts = contest_counts(ctx, unit_id, participant_id, [i["slot"]["id"] for i in items],
                            has_lists)
    for item in items:
        n = None if counts is None else counts[item["slot"]["id"]]
        item["contest"] = n
        item["contest_text"] = contest_text(n)


def spread_prices(ctx: Context, unit_id: int, prep: Prepared) -> dict[int, float]:
    """Slot id -> congestion price from the transport plan of the unit's stored lists onto
    the open slots' free places (0 for the least contested). 409 without stored lists."""
    lists = precomputed.lists_for_unit(ctx.session, unit_id)
    if not lists:
        raise Conflict(NO_LISTS)
    stamp = max(s.computed_at for rows in lists.values() for s in rows)
    key = (unit_id, stamp, history.catalogue_counter(ctx.session), len(lists))
    with _lock:
        if key in _cache:
            return _cache[key]
    free = {int(r["id"]): int(r.get("remaining", 0)) for r in prep.slots.records
            if r.get("status") == "open" and int(r.get("remaining", 0)) > 0}
    slot_ids = sorted(free)
    pos = {s: j for j, s in enumerate(slot_ids)}
    people = sorted(lists)
    pairs = [(i, pos[s.slot_id], float(s.score)) for i, pid in enumerate(people)
             for s in lists[pid] if s.slot_id in pos and s.score == s.score]
    plan = A.solve_ot(A.Problem.build(len(people), [free[s] for s in slot_ids], pairs),
                      reg=SPREAD_REG)
    prices = {sid: float(plan.prices[j]) for sid, j in pos.items()} \
        if plan.prices is not None else {}
    with _lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[key] = prices
    return prices
