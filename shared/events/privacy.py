"""Erasure on the topics: profile announces that a customer is erased, and every service
that holds facts about customers confirms, on its own topic, once it has removed or
anonymised them. Profile folds the confirmations into the erasure's job.

No personal data travels in these events: only ids, the reason an operator gave and
counts of what each service removed."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from shared.events.bounds import Id, Name, Note
from shared.events.payload import Payload

# The services that confirm an erasure besides profile (which erases first, in the
# request that announces it), in the order the job lists them.
CONFIRMING = ("lifecycle", "feedback", "loyalty")


class CustomerErased(Payload):
    """An operator erased a customer: every service removes or anonymises what it holds
    about ``customer_id`` (and the customers merged into it), keeping only what the law
    lets a business keep (amounts, ledger totals) without identity, then confirms."""

    erasure_id: Id
    customer_id: Id
    merged_ids: list[Id] = Field(
        default_factory=list, max_length=1_000, description="Customers merged into it, erased too"
    )
    reason: Note
    requested_at: AwareDatetime
    requested_by: Name | None = None


class ErasureConfirmed(Payload):
    """A service has erased what it held about the customer of an erasure."""

    erasure_id: Id
    customer_id: Id
    service: Name
    erased_at: AwareDatetime
    removed: dict[Name, int] = Field(
        default_factory=dict, max_length=50, description="Rows removed or anonymised, by table"
    )


class LifecycleErasureConfirmed(ErasureConfirmed):
    """Lifecycle has erased the customer's stage, history and timers."""


class FeedbackErasureConfirmed(ErasureConfirmed):
    """Feedback has erased the customer's complaints' texts, answers' comments and notes."""


class LoyaltyErasureConfirmed(ErasureConfirmed):
    """Loyalty has erased the customer's identity from its accounts (the ledger's totals
    stay, without identity)."""


CONFIRMATIONS: dict[str, type[ErasureConfirmed]] = {
    "lifecycle": LifecycleErasureConfirmed,
    "feedback": FeedbackErasureConfirmed,
    "loyalty": LoyaltyErasureConfirmed,
}
