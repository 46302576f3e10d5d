"""The process's model and slot catalogue, kept in step with the database.

The active version is a database row, so every worker agrees; each request compares it with
the loaded one and loads a new version before dropping the old, so a model is always ready.
The open slots are encoded once per model and rebuilt only when the catalogue's change
counter moves (a slot added or edited, a place taken or freed).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from matchning.domain.vocab import SlotStatus
from matchning.errors import ModelUnavailable
from matchning.ml import registry
from matchning.ml.catalog import SlotMatrix
from matchning.ml.model import MatchModel, Prepared
from matchning.reference import ReferenceData
from matchning.storage.repositories import history, models

log = logging.getLogger("matchning.matcher")
RETRY_FAILED_SECONDS = 60.0  # a version that failed to load is tried again after this
LIVE_STATUSES = (SlotStatus.open.value, SlotStatus.paused.value)


@dataclass
class LoadedModel:
    version: str
    model: MatchModel
    meta: dict[str, Any]


class Matcher:
    def __init__(self, models_dir: Path):
        self.models_dir = Path(models_dir)
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._catalogue: tuple[tuple, Prepared] | None = None
        self._failed: dict[str, float] = {}  # version -> when loading it last failed

    def model(self, session: Session) -> LoadedModel:
        row = models.active_model(session)
        if row is None:
            raise ModelUnavailable()
        loaded = self._loaded
        if loaded is not None and loaded.version == row.version:
            return loaded
        failed = self._failed.get(row.version)
        if loaded is not None and failed is not None \
                and time.monotonic() - failed < RETRY_FAILED_SECONDS:
            return loaded  # logged when it failed; no re-hashing on every request
        with self._lock:
            if self._loaded is None or self._loaded.version != row.version:
                try:
                    model, meta = registry.load(self.models_dir, row.version)
                except ModelUnavailable:
                    self._failed[row.version] = time.monotonic()
                    if self._loaded is None:
                        raise
                    log.error("active model %s cannot be loaded; still serving %s",
                              row.version, self._loaded.version)
                    return self._loaded
                self._failed.pop(row.version, None)
                self._loaded = LoadedModel(row.version, model, meta)
                log.info("model %s loaded", row.version)
            return self._loaded

    def catalogue(self, session: Session, loaded: LoadedModel, ref: ReferenceData
                  ) -> Prepared:
        """The open slots encoded for `loaded`, rebuilt when the database changed."""
        key = (loaded.version, history.catalogue_counter(session))
        cached = self._catalogue
        if cached is not None and cached[0] == key:
            return cached[1]
        # Paused slots too: the rules remove them, and the excluded list can say why.
        records = history.slot_records(session, statuses=LIVE_STATUSES)
        prepared = loaded.model.prepare(SlotMatrix.from_records(records, ref).indexed())
        self._catalogue = (key, prepared)
        return prepared
