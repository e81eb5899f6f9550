"""Feedback's settings: where its rule file is, and how often the sweep runs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr, model_validator

from services.feedback.domain.config import FeedbackConfig, load_config
from shared.settings import ServiceSettings

SHIPPED_CONFIG = Path(__file__).resolve().parent / "feedback.toml"


class FeedbackSettings(ServiceSettings):
    """``CRM_FEEDBACK_CONFIG_FILE`` names the SLA, escalation and invitation rules; it is
    read and validated when the settings are built, so a bad file stops the service
    before it touches anything."""

    feedback_config_file: Path = SHIPPED_CONFIG
    """Complaint SLAs, escalation and survey invitations (TOML; the shipped
    ``services/feedback/feedback.toml`` by default)."""
    feedback_sweep_seconds: float = Field(5.0, gt=0)
    """How often due survey invitations, lapsing invitations and SLA breaches are swept."""
    feedback_sweep_batch: int = Field(200, ge=1)
    """Due rows one sweep transaction handles at most."""
    _config: FeedbackConfig = PrivateAttr()

    @model_validator(mode="after")
    def _read_config(self) -> FeedbackSettings:
        self._config = load_config(self.feedback_config_file)
        return self

    @property
    def config(self) -> FeedbackConfig:
        return self._config
