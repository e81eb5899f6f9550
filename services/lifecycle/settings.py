"""Lifecycle's settings: where its configuration lives, and how often its jobs run."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings

DEFAULT_CONFIG = Path(__file__).resolve().parent / "stages.toml"


class LifecycleSettings(ServiceSettings):
    """``CRM_LIFECYCLE_CONFIG_FILE`` points at the business's stage machine."""

    lifecycle_config_file: Path = DEFAULT_CONFIG
    lifecycle_sweep_seconds: float = Field(5.0, gt=0)
    lifecycle_sweep_batch_size: int = Field(500, ge=1)
    lifecycle_refit_check_seconds: float = Field(600.0, gt=0)
