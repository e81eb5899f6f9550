"""Loyalty's settings: where the programme's rule file is, and how often to sweep."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr, model_validator

from services.loyalty.domain.rules import Programme, load_programme
from shared.settings import ServiceSettings

SHIPPED_RULES = Path(__file__).resolve().parent / "rules.toml"


class LoyaltySettings(ServiceSettings):
    """``CRM_LOYALTY_RULES_FILE`` names the programme; it is read and validated when the
    settings are built, so a bad file stops the service before it touches anything."""

    loyalty_rules_file: Path = SHIPPED_RULES
    """The loyalty programme: earning, tiers, expiry, refunds, goodwill (TOML; the shipped
    ``services/loyalty/rules.toml`` by default)."""
    loyalty_sweep_seconds: float = 5.0
    """How often due accounts are swept: pending points released, lots expired, tiers reviewed."""
    loyalty_sweep_batch: int = Field(100, ge=1)
    """Due accounts one sweep transaction handles at most (small, so a consumer that needs
    one of them waits for a short transaction, not a long one)."""
    _programme: Programme = PrivateAttr()

    @model_validator(mode="after")
    def _read_programme(self) -> LoyaltySettings:
        self._programme = load_programme(self.loyalty_rules_file)
        return self

    @property
    def programme(self) -> Programme:
        return self._programme
