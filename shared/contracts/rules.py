"""Rules per tenant: the stage machine (lifecycle), the loyalty programme and the
feedback policy, each a TOML text a tenant's admin may set; without one, the
installation's file applies."""

from __future__ import annotations

import uuid
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


class RecordedReplay(RulesUpdate):
    """What the gateway forwards to start a replay: the candidate and the key asking."""

    requested_by: str = Field(max_length=100)


class CountChange(BaseModel):
    before: int = Field(description="Under the rules in force")
    after: int = Field(description="Under the candidate rules")


class OutcomeChange(BaseModel):
    before: str | int | None
    after: str | int | None


class ChangedCustomer(BaseModel):
    tenant: str
    customer_id: str
    changes: dict[str, OutcomeChange] = Field(
        description="Each outcome that differs (stage, tier, points_issued, "
        "invitations_sent, escalations), before and after"
    )
    why: str = Field(
        description="The change and the rules that differ, e.g. "
        "'stage active→silent: silence.silent_after_days 90→30'"
    )


class RulesDiff(BaseModel):
    """What the candidate rules would have done to the tenant's history: both sides
    folded from the same events into shadow databases, one under the rules in force,
    one under the candidate."""

    kind: RuleKind
    tenant: str | None = Field(description="The tenant tried (None: the installation's file)")
    events: int = Field(ge=0, description="Events of the history folded (each side)")
    seconds: float = Field(ge=0, description="How long both folds took")
    rules_changed: list[str] = Field(description="Each rule that differs, 'key before→after'")
    counts: dict[str, dict[str, CountChange]] = Field(
        description="Totals by measure: customers_per_stage (lifecycle); points_issued and "
        "customers_per_tier (loyalty); invitations by status and escalations (feedback)"
    )
    customers: int = Field(ge=0, description="Customers on either side")
    customers_changed: int = Field(ge=0, description="Customers whose outcome differs")
    sample: list[ChangedCustomer] = Field(
        max_length=20, description="Up to 20 customers whose outcome differs, with why"
    )


class RuleReplay(BaseModel):
    """A replay job: the candidate rules tried on the history, without touching live
    state; switching to them is the separate ``PUT``."""

    id: uuid.UUID
    kind: RuleKind
    state: Literal["running", "done", "failed"]
    progress: str = Field(description="Where the replay is, e.g. '500 of 2,000 events (25 %)'")
    started_at: datetime
    finished_at: datetime | None = None
    requested_by: str = Field(description="api-key:<id> of the key that started it")
    diff: RulesDiff | None = Field(None, description="Once done: the difference")
    error: str | None = Field(None, description="Once failed: why")
