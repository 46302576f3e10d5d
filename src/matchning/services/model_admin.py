"""The model registry as system admins see it: versions, the active one, promote, rollback,
and the retrain runs (started here in the background for the API)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from matchning.config import Settings
from matchning.domain.principal import Principal
from matchning.domain.vocab import Role
from matchning.errors import Conflict, Forbidden, ModelUnavailable, NotFound
from matchning.ml import registry
from matchning.services import retraining
from matchning.services.context import Context
from matchning.services.retrain_lock import RetrainLock
from matchning.storage.repositories import audit, models
from matchning.storage.tables import RetrainRunRow

log = logging.getLogger("matchning.retrain")


@dataclass
class VersionView:
    meta: dict[str, Any]
    active: bool


def _require_admin(ctx: Context) -> None:
    _require_admin_principal(ctx.principal)


def _require_admin_principal(principal: Principal) -> None:
    if principal.role is not Role.system_admin:
        raise Forbidden("Bara systemadministratörer hanterar modellerna.")


def list_versions(ctx: Context) -> list[VersionView]:
    _require_admin(ctx)
    active = models.active_model(ctx.session)
    current = active.version if active else None
    return [VersionView(m, m["version"] == current)
            for m in reversed(registry.versions(ctx.settings.models_dir))]


def show(ctx: Context, version: str) -> VersionView:
    _require_admin(ctx)
    try:
        meta = registry.metadata(ctx.settings.models_dir, version)
    except ModelUnavailable:
        raise NotFound(f"Modellversionen {version} finns inte.") from None
    active = models.active_model(ctx.session)
    return VersionView(meta, active is not None and active.version == version)


def promote(ctx: Context, version: str, *, action: str = "promote") -> VersionView:
    """Make `version` active after checking that it loads (checksum, library versions)."""
    view = show(ctx, version)
    try:
        registry.load(ctx.settings.models_dir, version)
    except ModelUnavailable as exc:
        raise Conflict(f"Versionen kan inte aktiveras: {exc.message}") from None
    models.activate(ctx.session, version, at=ctx.now(), by=ctx.principal.user_id or None,
                    action=action)
    audit.record(ctx.session, user_id=ctx.principal.user_id or None, action=f"model.{action}",
                 subject_type="model", subject_id=version, model_version=version)
    return VersionView(view.meta, True)


def rollback(ctx: Context) -> VersionView:
    """Back to the version that was active before the current one."""
    _require_admin(ctx)
    active = models.active_model(ctx.session)
    if active is None:
        raise Conflict("Det finns ingen aktiv modell att gå tillbaka från.")
    target = next((a.previous for a in models.activations(ctx.session, limit=1000)
                   if a.version == active.version and a.action != "rollback"), None)
    if target is None:
        raise Conflict("Det finns ingen tidigare version att gå tillbaka till.")
    return promote(ctx, target, action="rollback")


def run(ctx: Context, run_id: int) -> RetrainRunRow:
    _require_admin(ctx)
    row = models.run(ctx.session, run_id)
    if row is None:
        raise NotFound("Körningen finns inte.")
    return row


def runs(ctx: Context, limit: int = 50) -> list[RetrainRunRow]:
    _require_admin(ctx)
    return models.runs(ctx.session, limit)


def runs_page(ctx: Context, limit: int, offset: int) -> tuple[list[RetrainRunRow], int]:
    """The runs newest first, and how many there are."""
    _require_admin(ctx)
    return models.runs(ctx.session, limit, offset), models.count_runs(ctx.session)


def start_retrain(principal: Principal, settings: Settings, factory: sessionmaker[Session],
                  engine: Engine) -> int:
    """Begin a retrain run now and carry it out in a daemon thread; returns the run id.

    RetrainRunning (with the running run's id) when one is already under way. The run row is
    committed before this returns; the thread uses its own sessions from `factory`.
    """
    _require_admin_principal(principal)
    lock, run_id = retraining.begin(factory, engine, settings, trigger="api",
                                    by=principal.user_id or None)
    thread = threading.Thread(target=_carry_out, args=(factory, settings, run_id, lock),
                              name=f"matchning-retrain-{run_id}", daemon=True)
    try:
        thread.start()
    except BaseException:  # the row stays "running" until the next begin() marks it failed
        lock.release()
        raise
    return run_id


def _carry_out(factory: sessionmaker[Session], settings: Settings, run_id: int,
               lock: RetrainLock) -> None:
    try:
        retraining.execute(factory, settings, run_id, lock)
    except Exception:  # execute() has recorded the run as failed; keep the traceback
        log.exception("background retrain run %s failed", run_id)
