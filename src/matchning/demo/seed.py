"""Write a generated world into the database, and its truth into a side file."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select

from matchning.demo import rows as R
from matchning.demo.config import UNIT_ID, DemoConfig, DemoSummary
from matchning.demo.history import EXITS, History
from matchning.demo.outcome import WEIGHTS, weights_dict
from matchning.demo.truth import build_meta, candidate_pairs, candidate_probabilities, write_truth
from matchning.demo.users import login_tokens, unit_rows, user_rows
from matchning.demo.world import World, build_world
from matchning.demo.writer import TABLES, bulk_insert, id_offsets, reset_sequences
from matchning.errors import Conflict


def database_is_empty(engine: Engine) -> bool:
    """True when the database holds no units and no participants."""
    with engine.connect() as conn:
        for name in ("units", "participants"):
            if conn.execute(select(TABLES[name].c.id).limit(1)).first() is not None:
                return False
    return True


def seed_demo_world(engine: Engine, config: DemoConfig, *,
                    truth_path: Path | None) -> DemoSummary:
    """Generate the world of `config`, write it in one transaction, and write the true
    probabilities to `truth_path` (never to the database)."""
    started = time.perf_counter()
    cfg = config.validated()
    world = build_world(cfg)
    timings = {"seconds.build": time.perf_counter() - started}
    with engine.begin() as conn:
        units = TABLES["units"]
        if conn.execute(select(units.c.id).where(units.c.external_id == UNIT_ID.format(1))
                        ).first() is not None:
            raise Conflict("Det finns redan en demovärld i databasen.")
        ids = id_offsets(conn)
        cache = _bigger_sqlite_cache(conn)
        created = world.cal.stamp(-90)
        logins, tokens = login_tokens(world.staff, ids)
        tables = {
            "units": lambda: unit_rows(world.geo, ids, created),
            "employers": lambda: R.employer_rows(world, ids),
            "users": lambda: user_rows(world.staff, ids),
            "api_tokens": lambda: tokens,
            "slots": lambda: R.slot_rows(world, ids),
            "participants": lambda: R.participant_rows(world, ids),
            "participant_monitoring": lambda: R.monitoring_rows(world, ids),
            "placements": lambda: R.placement_rows(world, ids),
            "placement_events": lambda: R.event_rows(world, ids),
            "feedback": lambda: R.feedback_rows(world, ids),
        }
        counts = {}
        for name, make_rows in tables.items():
            t = time.perf_counter()
            counts[name] = bulk_insert(conn, name, make_rows())
            timings[f"seconds.write.{name}"] = time.perf_counter() - t
        reset_sequences(conn)
        if cache is not None:
            conn.exec_driver_sql(f"PRAGMA cache_size={cache}")
        t = time.perf_counter()
    timings["seconds.commit"] = time.perf_counter() - t
    if truth_path is not None:
        t = time.perf_counter()
        truth_path = _write_truth(world, Path(truth_path), counts)
        timings["seconds.truth"] = time.perf_counter() - t
    stats = history_stats(world.history, world.pl_state, world.horizon)
    stats.update({k: round(v, 3) for k, v in timings.items()})
    return DemoSummary(counts=counts, logins=logins, truth_path=truth_path,
                       seconds=round(time.perf_counter() - started, 3), stats=stats)


def _bigger_sqlite_cache(conn) -> int | None:
    """SQLite: a 256 MB page cache while loading (the default 2 MB thrashes on the indexes
    of big tables); returns the old value to restore."""
    if conn.dialect.name != "sqlite":
        return None
    old = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql("PRAGMA cache_size=-262144")
    return old


def _write_truth(world: World, path: Path, counts: dict[str, int]) -> Path:
    h, cfg = world.history, world.config
    waiting = np.flatnonzero(np.array(world.p_status, dtype=object) == "väntande")
    open_slots = np.flatnonzero(np.array(world.slot_status, dtype=object) == "open")
    cpi, csi, note = candidate_pairs(world.geo, world.people, world.slots, waiting, open_slots)
    cp = candidate_probabilities(WEIGHTS[cfg.variant], world.geo, world.occ, world.people,
                                 world.slots, world.employers, cpi, csi, world.seed)
    meta = build_meta(seed=cfg.seed, variant=cfg.variant, weights=weights_dict(cfg.variant),
                      today=cfg.today.isoformat(), window_start=world.cal.start.isoformat(),
                      months=cfg.months, e=world.employers, candidates_note=note,
                      counts=counts)
    return write_truth(path, placement_no=np.arange(1, len(h) + 1), placement_p=h.p,
                       placement_pi=h.participant, placement_si=h.slot, cand_pi=cpi,
                       cand_si=csi, cand_p=cp, meta=meta)


def history_stats(h: History, st: dict[str, np.ndarray], today: int) -> dict[str, float]:
    """Rates of the generated history, to check that it looks like real units' figures."""
    left = h.exit_day <= today
    good = left & np.isin(h.exit_outcome, (EXITS.index("arbete"), EXITS.index("studier")))
    status = st["status"]
    ended = np.isin(status, ("completed", "aborted"))
    return {
        "participants_left": int(left.sum()),
        "left_to_work_or_studies": round(float(good.sum() / max(1, left.sum())), 3),
        "completed_share_of_ended": round(float((status == "completed").sum()
                                                / max(1, ended.sum())), 3),
        "declined_share": round(float((status == "declined").sum() / max(1, len(status))), 3),
        "mean_true_p": round(float(h.p.mean()) if len(h) else 0.0, 3),
    }
