"""Lifecycle's settings: where its configuration lives, and how often its jobs run."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr, model_validator

from services.lifecycle.domain.config import load_config
from services.lifecycle.domain.stages import StageMachine
from shared.settings import ServiceSettings

DEFAULT_CONFIG = Path(__file__).resolve().parent / "stages.toml"


class LifecycleSettings(ServiceSettings):
    """``CRM_LIFECYCLE_CONFIG_FILE`` points at the business's stage machine; it is read
    and validated when the settings are built, so a bad file stops the service before
    it touches anything."""

    lifecycle_config_file: Path = DEFAULT_CONFIG
    """The stage machine, thresholds, risk weights and model schedule (TOML; the shipped
    ``services/lifecycle/stages.toml`` by default)."""
    lifecycle_sweep_seconds: float = Field(5.0, gt=0)
    """How often the time-based transitions (silence, churn) are swept."""
    lifecycle_sweep_batch_size: int = Field(100, ge=1)
    """Customers one sweep transaction moves at most (small, so a consumer that needs one
    of them waits for a short transaction, not a long one)."""
    lifecycle_watermark_quiet_seconds: float = Field(300.0, ge=0)
    """While a tenant's activity arrived within this many seconds, its silence and churn
    timers fire as its events pass them in event time, not by the wall clock: a history
    sent in a hurry goes silent where it did, not where the sweep caught it (0: the wall
    clock alone)."""
    lifecycle_refit_check_seconds: float = Field(600.0, gt=0)
    """How often lifecycle checks whether the churn model is due for a refit."""
    lifecycle_rescore_seconds: float = Field(60.0, gt=0)
    """How often lifecycle looks for customers whose scores are due (older than the
    configured ``value.rescore_hours`` or than the latest fit) and rescores them."""
    lifecycle_rescore_batch_size: int = Field(500, ge=1, le=10_000)
    """Customers one rescore transaction takes at most."""

    _machine: StageMachine = PrivateAttr()

    @model_validator(mode="after")
    def _read_config(self) -> LifecycleSettings:
        self._machine = StageMachine(load_config(self.lifecycle_config_file))
        return self

    @property
    def machine(self) -> StageMachine:
        """The configured stage machine (its ``config`` holds the rest of the file)."""
        return self._machine
