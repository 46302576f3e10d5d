"""The side file with the generator's true success probabilities (never in the database).

Format: one `np.savez_compressed` file with the arrays
  kind (uint8: 0 placement, 1 candidate), placement_no, participant_no, slot_no (int64,
  the 1-based numbers inside the external ids; placement_no 0 for candidates), p (float64),
  meta_json (a 0-d string array with the JSON metadata).
`load_truth` turns the numbers back into external ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matchning.demo.config import (
    CANDIDATE_MARGIN_KM,
    CANDIDATE_PAIR_LIMIT,
    CANDIDATE_PARTICIPANT_LIMIT,
    EMPLOYER_ID,
    PARTICIPANT_ID,
    PLACEMENT_ID,
    SAME_KOMMUN_KM,
    SLOT_ID,
)
from matchning.demo.employers import Employers
from matchning.demo.occupations import OccupationTable
from matchning.demo.outcome import HiddenWeights, fit_table, truth_for_pairs
from matchning.demo.people import Participants
from matchning.demo.places import Geography, pair_distance
from matchning.demo.slots import Slots

KINDS = ("placement", "candidate")
CHUNK_PAIRS = 2_000_000


def candidate_pairs(geo: Geography, p: Participants, s: Slots, waiting: np.ndarray,
                    open_slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Pairs (participant, slot) of waiting participants and open slots within their reach
    (max commute + margin), or a reason why they were skipped."""
    if len(p) > CANDIDATE_PARTICIPANT_LIMIT:
        return (*_none(), f"more than {CANDIDATE_PARTICIPANT_LIMIT} participants")
    reach = p.commute.max(initial=0.0) + CANDIDATE_MARGIN_KM + 40.0
    near = geo.dist <= reach  # kommun pre-filter; the exact distance is checked below
    estimate = sum(int(near[k][s.kommun[open_slots]].sum()) * int((p.kommun[waiting] == k).sum())
                   for k in np.unique(p.kommun[waiting]))
    if estimate > CANDIDATE_PAIR_LIMIT:
        return (*_none(), f"more than {CANDIDATE_PAIR_LIMIT} candidate pairs")
    out_p, out_s = [], []
    for k in np.unique(p.kommun[waiting]):
        people = waiting[p.kommun[waiting] == k]
        slots = open_slots[near[k][s.kommun[open_slots]]]
        if len(slots) == 0:
            continue
        step = max(1, CHUNK_PAIRS // len(slots))
        for lo in range(0, len(people), step):
            pi = np.repeat(people[lo:lo + step], len(slots))
            si = np.tile(slots, len(people[lo:lo + step]))
            d = pair_distance(geo, p.kommun[pi], p.lat[pi], p.lon[pi], s.kommun[si],
                              s.lat[si], s.lon[si], SAME_KOMMUN_KM)
            keep = d <= p.commute[pi] + CANDIDATE_MARGIN_KM
            out_p.append(pi[keep])
            out_s.append(si[keep])
    if not out_p:
        return (*_none(), None)
    return np.concatenate(out_p), np.concatenate(out_s), None


def _none() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)


def candidate_probabilities(w: HiddenWeights, geo: Geography, occ: OccupationTable,
                            p: Participants, s: Slots, e: Employers, pi: np.ndarray,
                            si: np.ndarray, seed: int) -> np.ndarray:
    out = np.empty(len(pi))
    fit = fit_table(occ.code_int)
    for lo in range(0, len(pi), CHUNK_PAIRS):
        sl = slice(lo, lo + CHUNK_PAIRS)
        out[sl] = truth_for_pairs(w, geo, fit, p, s, e, pi[sl], si[sl],
                                  seed).p_complete
    return out


def build_meta(*, seed: int, variant: str, weights: dict[str, float], today: str,
               window_start: str, months: int, e: Employers, candidates_note: str | None,
               counts: dict[str, int]) -> dict[str, Any]:
    return {
        "seed": seed, "variant": variant, "today": today, "window_start": window_start,
        "months": months, "hidden_weights": weights,
        "employer_quality": {EMPLOYER_ID.format(i + 1): float(q)
                             for i, q in enumerate(e.quality)},
        "p": "true probability that a proposal of this participant to this slot ends "
             "completed (not withdrawn, not declined, not aborted)",
        "candidates": {
            "included": candidates_note is None,
            "skipped_because": candidates_note,
            "definition": "waiting participants x open slots within max_commute_km + "
                          f"{CANDIDATE_MARGIN_KM:g} km",
        },
        "id_formats": {"placement": PLACEMENT_ID, "participant": PARTICIPANT_ID,
                       "slot": SLOT_ID, "employer": EMPLOYER_ID},
        "counts": counts,
    }


def write_truth(path: Path, *, placement_no: np.ndarray, placement_p: np.ndarray,
                placement_pi: np.ndarray, placement_si: np.ndarray, cand_pi: np.ndarray,
                cand_si: np.ndarray, cand_p: np.ndarray, meta: dict[str, Any]) -> Path:
    """Write the side file; participant and slot indices are 0-based (stored 1-based)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n_pl, n_c = len(placement_no), len(cand_pi)
    with path.open("wb") as fh:  # a file object: savez would otherwise append ".npz"
        np.savez_compressed(
            fh,
            kind=np.r_[np.zeros(n_pl, np.uint8), np.ones(n_c, np.uint8)],
            placement_no=np.r_[placement_no, np.zeros(n_c, np.int64)].astype(np.int64),
            participant_no=(np.r_[placement_pi, cand_pi] + 1).astype(np.int64),
            slot_no=(np.r_[placement_si, cand_si] + 1).astype(np.int64),
            p=np.r_[placement_p, cand_p].astype(np.float64),
            meta_json=np.array(json.dumps(meta, ensure_ascii=False)),
        )
    return path


def load_truth(path: Path) -> tuple[pd.DataFrame, dict]:
    """The rows (kind, placement_id, participant_id, slot_id, p) and the metadata."""
    with np.load(Path(path), allow_pickle=False) as z:
        meta = json.loads(str(z["meta_json"]))
        kind = z["kind"]
        pl, pa, sl, p = z["placement_no"], z["participant_no"], z["slot_no"], z["p"]
    fmt = meta["id_formats"]
    placement = pd.Series([fmt["placement"].format(int(x)) if x else None for x in pl],
                          dtype=object)
    frame = pd.DataFrame({
        "kind": pd.Categorical.from_codes(kind.astype(np.int8), categories=list(KINDS)),
        "placement_id": placement,
        "participant_id": [fmt["participant"].format(int(x)) for x in pa],
        "slot_id": [fmt["slot"].format(int(x)) for x in sl],
        "p": p,
    })
    frame["kind"] = frame["kind"].astype(str)
    return frame, meta
