"""What feedback's lifespan opens: the tenants' policies, and the key ring that opens
the complaint texts and survey comments events carry sealed, and gives the customers'
keys feedback seals its own texts with (``services.feedback.sealing``)."""

from __future__ import annotations

from dataclasses import dataclass

from services.feedback.domain.config import FeedbackConfig
from services.feedback.settings import FeedbackSettings
from shared.keyring import Keys
from shared.rulebook import Rulebook
from shared.runtime import Runtime


@dataclass(frozen=True)
class FeedbackResources:
    policies: Rulebook[FeedbackConfig]  # each tenant's own policy, else the installation's
    keys: Keys  # subject keys, read from profile (``shared.sealing``)


FeedbackRuntime = Runtime[FeedbackSettings, FeedbackResources]


def policies_of(resources: FeedbackResources) -> Rulebook[FeedbackConfig]:
    """Where feedback keeps its rulebook among its resources (the rules routes and the
    rule replay ask here)."""
    return resources.policies
