"""Rules per tenant: the stage machine (lifecycle), the loyalty programme and the
feedback policy, each a TOML text a tenant's admin may set; without one, the
installation's file applies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.events.bounds import Text

RuleKind = Literal["lifecycle", "loyalty", "feedback"]
MAX_RULES_CHARACTERS = 262_144
# Which service keeps each kind of rules.
SERVICE_OF: dict[str, str] = {
    "lifecycle": "lifecycle",
    "loyalty": "loyalty",
    "feedback": "feedback",
}


class RulesUpdate(BaseModel):
    """The tenant's whole rule file, as TOML text (the installation's file's format)."""

    rules: Text = Field(
        min_length=1,
        max_length=MAX_RULES_CHARACTERS,
        description="TOML, validated as the installation's file is at start (422 naming "
        "each problem; the rules in force stay)",
        examples=["[earning]\ndefault_points_per_unit = 1\n"],
    )


class RecordedRules(RulesUpdate):
    """What the gateway forwards: the update and the API key that made it."""

    changed_by: str = Field(max_length=100)


class Rules(BaseModel):
    kind: RuleKind
    source: Literal["tenant", "installation"] = Field(
        description="tenant: set through the API; installation: the service's rule file"
    )
    version: int = Field(ge=0, description="The stored version in force; 0 for the file")
    rules: str = Field(description="The TOML text in force")
    changed_at: datetime | None = None
    changed_by: str | None = Field(None, description="api-key:<id> of the key that set it")
    previous_version: int | None = Field(
        None, description="On a change: the version in force before it (0: the file)"
    )
