"""The one settings object. Every setting is read from the environment (prefix MATCHNING_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHNING_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is a SQLite file in data_dir.",
    )
    models_dir: Path = Path("models")
    secret_key: str = DEFAULT_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    worker_concurrency: int = Field(
        default=2, ge=0,
        description="Requests one worker lets into the app at a time; the rest wait in "
                    "order (docs/scale-out.md); 0: no limit")
    token_ttl_days: int = Field(default=90, ge=1, le=3650)
    login_rate_limit: str = Field(
        default="10 per 5 minutes",
        description="Failed logins allowed per e-mail address and per client address")
    rate_limit_storage_uri: str = Field(
        default="memory://",
        description="Where failed logins are counted; redis://... to share between workers")
    session_hours: float = Field(default=8, gt=0, le=24 * 30,
                                 description="A page login lasts this long (signed cookie)")
    same_kommun_distance_km: float = Field(default=5.0, ge=0, le=100)
    max_body_bytes: int = Field(default=1_000_000, ge=10_000)
    # Model lifecycle (docs/lifecycle.md)
    retrain_cron: str = Field(default="30 2 * * *",
                              description="When `matchning scheduler` retrains (crontab)")
    retrain_timezone: str = "Europe/Stockholm"
    retrain_interval_seconds: float | None = Field(
        default=None, gt=0, description="Retrain every N seconds instead of the cron (tests)")
    promotion_tolerance: float = Field(
        default=0.01, ge=0, le=1,
        description="A candidate may be this much worse in NDCG@10 than the active model")
    promotion_max_ece: float = Field(default=0.15, gt=0, le=1)
    promotion_min_fresh_placements: int = Field(
        default=30, ge=1, description="Test placements after the active model's training "
                                      "window needed to compare the two models")
    promotion_min_coverage_ratio: float = Field(default=0.5, ge=0, le=1)
    retrain_failure_record_seconds: float = Field(
        default=120, ge=0, description="How long a failed run keeps trying to record itself "
                                       "while the database is away")
    precompute_cron: str = Field(default="0 4 * * *",
                                 description="When `matchning scheduler` stores the nightly "
                                             "top lists (crontab; after the retrain)")
    dask_scheduler: str | None = Field(
        default=None, description="Dask scheduler address (tcp://host:8786) for `matchning "
                                  "precompute`; unset: joblib's local backend")
    # Privacy (docs/security.md): how long audit rows and ended participants are kept.
    audit_retention_months: int = Field(
        default=12, ge=1, le=120, description="Audit rows older than this are purged")
    participant_retention_months: int = Field(
        default=24, ge=1, le=240,
        description="A participant ended (avslutad) longer ago than this is erased")
    privacy_cron: str = Field(default="15 3 * * *",
                              description="When `matchning scheduler` purges the audit log "
                                          "and erases expired participants (crontab)")
    import_parallel_rows: int = Field(
        default=5_000, ge=0,
        description="`matchning import`: a file of employers, slots or participants with at "
                    "least this many rows is checked in a second process while the first "
                    "writes (docs/import.md); 0: always one process")
    log_level: str = "INFO"
    sql_echo: bool = False

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "MATCHNING_SECRET_KEY must be set to a real secret when "
                "MATCHNING_ENVIRONMENT=production"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'matchning.sqlite3').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
