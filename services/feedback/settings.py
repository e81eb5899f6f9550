"""Feedback's settings: where its rule file is, how often the sweep runs, and the key
answer tokens are signed with."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator

from services.feedback.domain.config import FeedbackConfig, load_config
from services.feedback.domain.tokens import token_secret
from shared.settings import ServiceSettings

SHIPPED_CONFIG = Path(__file__).resolve().parent / "feedback.toml"


class FeedbackSettings(ServiceSettings):
    """``CRM_FEEDBACK_CONFIG_FILE`` names the SLA, escalation and invitation rules; it is
    read and validated when the settings are built, so a bad file stops the service
    before it touches anything."""

    feedback_config_file: Path = SHIPPED_CONFIG
    """Complaint SLAs, escalation, survey invitations, detractors and their recovery
    (TOML; the shipped ``services/feedback/feedback.toml`` by default)."""
    feedback_sweep_seconds: float = Field(5.0, gt=0)
    """How often due survey invitations, lapsing invitations and SLA breaches are swept."""
    feedback_sweep_batch: int = Field(200, ge=1)
    """Due rows one sweep transaction handles at most."""
    survey_token_key: SecretStr | None = None
    """Signs survey answer tokens (32+ characters; the same on every feedback replica).
    Unset: derived from ``CRM_INTERNAL_SECRET``. Changing it voids the tokens handed out."""
    profile_url: str | None = None
    """Where feedback reaches profile for the keys partners' complaint texts and survey
    comments are sealed with (default ``http://127.0.0.1:<CRM_PROFILE_PORT>``)."""
    _config: FeedbackConfig = PrivateAttr()

    @field_validator("survey_token_key")
    @classmethod
    def _token_key_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("CRM_SURVEY_TOKEN_KEY must be at least 32 random characters")
        return value

    @model_validator(mode="after")
    def _read_config(self) -> FeedbackSettings:
        self._config = load_config(self.feedback_config_file)
        return self

    @property
    def profile_base_url(self) -> str:
        return self.profile_url or f"http://127.0.0.1:{self.profile_port}"

    @property
    def config(self) -> FeedbackConfig:
        return self._config

    @property
    def answer_secret(self) -> bytes | None:
        """The secret answer tokens are signed with (None: no key is configured)."""
        key = self.survey_token_key or self.internal_secret
        return token_secret(key.get_secret_value()) if key else None
