"""The process's model, slot catalogue and participant matrices, kept in step with the
database.

The active version is a database row, so every worker agrees; each request compares it with
the loaded one and loads a new version before dropping the old, so a model is always ready.
The open slots are encoded once per model and rebuilt only when the catalogue's change
counter moves (a slot added or edited, a place taken or freed). Each unit's waiting
participants are encoded once per model and rebuilt when the unit's participant counter moves
(a participant created or edited, a placement started or ended).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy.orm import Session

from matchning.domain.snapshot import SNAPSHOT_FIELDS, profile_snapshot
from matchning.domain.vocab import SlotStatus
from matchning.errors import ModelUnavailable
from matchning.ml import registry
from matchning.ml.catalog import SlotMatrix
from matchning.ml.features import EncodedProfiles
from matchning.ml.model import MatchModel, Prepared
from matchning.ml.profiles import ProfileMatrix, ProfileReach
from matchning.reference import ReferenceData
from matchning.storage.repositories import counters, history, models

log = logging.getLogger("matchning.matcher")
RETRY_FAILED_SECONDS = 60.0  # a version that failed to load is tried again after this
LIVE_STATUSES = (SlotStatus.open.value, SlotStatus.paused.value)
# An empty unit's encoding (the vectorisers refuse an empty batch; nothing reads it).
NOBODY = EncodedProfiles(skills=sp.csr_matrix((0, 1)), text=sp.csr_matrix((0, 1)))


@dataclass
class LoadedModel:
    version: str
    model: MatchModel
    meta: dict[str, Any]


@dataclass
class ParticipantPool:
    """One unit's waiting participants, ordered by id, encoded for one model."""

    ids: np.ndarray
    versions: np.ndarray
    external_ids: list[str | None]
    names: list[str]
    matrix: ProfileMatrix
    encoded: EncodedProfiles
    reach: ProfileReach

    def __len__(self) -> int:
        return len(self.ids)


SETTLE_FROM_SLOTS = 10_000  # below this a full collection costs little: not worth a pause


def _settle() -> None:
    """One full collection now, then the survivors (the model and the catalogue: most of a
    worker's objects) are kept out of the collections to come. A full collection over the
    national catalogue takes about 0.65 s with the GIL held; when Python ran one on its own
    accord, every request of the worker waited that long. Unfrozen first, so whatever the
    last catalogue left in cycles is collected here rather than kept for good."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class Matcher:
    def __init__(self, models_dir: Path):
        self.models_dir = Path(models_dir)
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._catalogue: tuple[tuple, Prepared] | None = None
        self._failed: dict[str, float] = {}  # version -> when loading it last failed
        self._pools: dict[int, tuple[tuple, ParticipantPool]] = {}  # unit id -> (key, pool)
        self._building = threading.Lock()  # caches are built by one thread at a time

    def serving(self, session: Session, ref: ReferenceData,
                state: history.ServingState | None = None) -> tuple[LoadedModel, Prepared]:
        """`model` and `catalogue` from one read of the database (the active version, the
        slots' change counter and the highest slot id; `state` when the caller read it)."""
        state = state or history.serving_state(session)
        loaded = self.active(state.model_version)
        return loaded, self.catalogue(session, loaded, ref, counter=state.catalogue_key)

    def model(self, session: Session) -> LoadedModel:
        """The active model, as the database names it."""
        row = models.active_model(session)
        return self.active(None if row is None else row.version)

    def active(self, version: str | None) -> LoadedModel:
        """The model of `version` (the active one, as the caller read it), loaded before the
        old one is dropped; ModelUnavailable when there is none."""
        if version is None:
            raise ModelUnavailable()
        loaded = self._loaded
        if loaded is not None and loaded.version == version:
            return loaded
        failed = self._failed.get(version)
        if loaded is not None and failed is not None \
                and time.monotonic() - failed < RETRY_FAILED_SECONDS:
            return loaded  # logged when it failed; no re-hashing on every request
        with self._lock:
            if self._loaded is None or self._loaded.version != version:
                try:
                    model, meta = registry.load(self.models_dir, version)
                except ModelUnavailable:
                    self._failed[version] = time.monotonic()
                    if self._loaded is None:
                        raise
                    log.error("active model %s cannot be loaded; still serving %s",
                              version, self._loaded.version)
                    return self._loaded
                self._failed.pop(version, None)
                model.warm()  # compile the scoring loops now, not in a user's request
                self._loaded = LoadedModel(version, model, meta)
                log.info("model %s loaded", version)
            return self._loaded

    def catalogue(self, session: Session, loaded: LoadedModel, ref: ReferenceData,
                  counter: tuple[int, int] | None = None) -> Prepared:
        """The open slots encoded for `loaded`, rebuilt when the database changed
        (`counter`: `history.catalogue_counter` when the caller read it already)."""
        key = (loaded.version, counter if counter is not None
               else history.catalogue_counter(session))
        cached = self._catalogue
        if cached is not None and cached[0] == key:
            return cached[1]
        # One build at a time: the requests that arrive meanwhile (a worker's threads) wait
        # for it instead of each encoding 100,000 slots at once (seen: 6 GB, minutes).
        with self._building:
            cached = self._catalogue
            if cached is not None and cached[0] == key:
                return cached[1]
            # Paused slots too: the rules remove them, and the excluded list can say why.
            records = history.slot_records(session, statuses=LIVE_STATUSES)
            prepared = loaded.model.prepare(SlotMatrix.from_records(records, ref).indexed())
            self._catalogue = (key, prepared)
            if len(records) >= SETTLE_FROM_SLOTS:
                del records
                _settle()
            return prepared

    def participants(self, session: Session, loaded: LoadedModel, unit_id: int,
                     ref: ReferenceData) -> ParticipantPool:
        """The unit's waiting participants encoded for `loaded`, refreshed when the unit's
        participant counter moved. The counter is read before the rows: a write committed in
        between leaves newer rows under an older key, which the next request refreshes."""
        key = (loaded.version, counters.value(session, counters.participants_of(unit_id)))
        cached = self._pools.get(unit_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        with self._building:  # one build at a time, as for the catalogue
            cached = self._pools.get(unit_id)
            if cached is not None and cached[0] == key:
                return cached[1]
            if cached is not None and cached[0][0] == loaded.version:
                pool = self._refreshed(session, loaded, unit_id, ref, cached[1])
            else:
                pool = self._built(session, loaded, unit_id, ref, None)
            self._pools[unit_id] = (key, pool)
            return pool

    def _built(self, session: Session, loaded: LoadedModel, unit_id: int, ref: ReferenceData,
               ids: list[int] | None) -> ParticipantPool:
        """The unit's waiting participants (of `ids` only, when given), encoded."""
        people = history.waiting_profiles(session, unit_id, SNAPSHOT_FIELDS, ids)
        P = ProfileMatrix.from_records([profile_snapshot(p.fields) for p in people], ref)
        return ParticipantPool(
            ids=np.array([p.id for p in people], dtype=np.int64),
            versions=np.array([p.version for p in people], dtype=np.int64),
            external_ids=[p.external_id for p in people], names=[p.display_name for p in people],
            matrix=P, encoded=loaded.model.encode_profiles(P) if people else NOBODY,
            reach=ProfileReach.build(P))

    def _refreshed(self, session: Session, loaded: LoadedModel, unit_id: int,
                   ref: ReferenceData, old: ParticipantPool) -> ParticipantPool:
        """`old` brought up to date: the unit's waiting (id, version) pairs are compared
        with the cached ones; only the participants new to the list or edited since (their
        version moved) are loaded and encoded, the others are kept as they are."""
        now = history.waiting_versions(session, unit_id)
        if not now or len(old) == 0:
            return self._built(session, loaded, unit_id, ref, None)
        ids = np.array([i for i, _ in now], dtype=np.int64)
        versions = np.array([v for _, v in now], dtype=np.int64)
        pos = np.clip(np.searchsorted(old.ids, ids), 0, len(old.ids) - 1)
        same = (old.ids[pos] == ids) & (old.versions[pos] == versions)
        changed = ids[~same]
        if len(changed) > max(1000, len(ids) // 3):  # most of the unit moved: start afresh
            return self._built(session, loaded, unit_id, ref, None)
        new = self._built(session, loaded, unit_id, ref, [int(i) for i in changed])
        keep = pos[same]
        merged = ProfileMatrix.concat(old.matrix.take(keep), new.matrix)
        both_ids = np.concatenate([old.ids[keep], new.ids])
        order = np.argsort(both_ids, kind="stable")
        matrix = merged.take(order)
        encoded = EncodedProfiles(
            skills=sp.vstack([old.encoded.skills[keep], new.encoded.skills]).tocsr()[order],
            text=sp.vstack([old.encoded.text[keep], new.encoded.text]).tocsr()[order]) \
            if len(new.ids) else EncodedProfiles(old.encoded.skills[keep],
                                                 old.encoded.text[keep])
        rows = np.r_[keep, len(old.ids) + np.arange(len(new.ids))][order]
        external, names = old.external_ids + new.external_ids, old.names + new.names
        return ParticipantPool(
            ids=both_ids[order],
            versions=np.concatenate([old.versions[keep], new.versions])[order],
            external_ids=[external[i] for i in rows], names=[names[i] for i in rows],
            matrix=matrix, encoded=encoded, reach=ProfileReach.build(matrix))

    def forget_participants(self, unit_id: int) -> None:
        """Drop the unit's matrix (a listed participant was found changed without a bump)."""
        self._pools.pop(unit_id, None)
