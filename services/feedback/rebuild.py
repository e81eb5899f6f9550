"""Rebuild feedback's complaints, surveys and audience from the topics.

    python -m services.feedback.rebuild         (with the feedback service stopped)

Thrown away and folded again (``services.rebuilding``): complaints, survey invitations
and responses, what feedback knows of its audience (stages, tiers, value classes,
consents, segments, orders by channel), the merges and the resolutions waiting for
their complaint. They come from crm.activity, crm.lifecycle, crm.profile, crm.loyalty
and erasures; invitations are sent or lapse and complaints escalate at their due times
on the way: the sweep runs before a customer's event that comes after their next due
work (``due``), and does each piece at its due time (``services.feedback.sweep``).

The decisions made at feedback's own API are folded from the events they were announced
with on crm.feedback (``services.feedback.decisions``, a group only a rebuild runs): the
desk's moves and assignments (``complaint_updated``), its resolutions
(``complaint_resolved`` by "desk", with their text and resolver) and the answers posted
with a token (``survey_answered``, with the comment). Kept as they are: the tenants'
policies and survey definitions (configuration, set at the API, not folded) and the
desk's notes (internal, never announced, so that agents' text stays off topics kept
forever; their complaints' ids derive from the filing events, so the complaints folded
again find them).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from services.feedback import app
from services.feedback.resources import FeedbackRuntime
from services.feedback.store.next_due import next_due
from services.feedback.tables import (
    channel_order,
    complaint,
    consent,
    customer_merge,
    parked,
    respondent,
    segment_member,
    survey_invitation,
    survey_response,
)
from services.rebuilding import main
from shared.rebuild import Key

FOLDED = (
    survey_response,
    survey_invitation,
    complaint,
    respondent,
    consent,
    channel_order,
    segment_member,
    customer_merge,
    parked,
)


async def due(runtime: FeedbackRuntime, keys: set[Key]) -> dict[Key, datetime]:
    """When the next work of each customer (Kafka key) falls due, for those with some."""
    customers = {key: customer for key in keys if (customer := _customer(key)) is not None}
    async with runtime.db.engine.connect() as conn:
        found = await next_due(conn, set(customers.values()))
    return {key: found[c] for key, c in customers.items() if c in found}


def _customer(key: Key) -> uuid.UUID | None:
    try:
        return uuid.UUID((key or b"").decode())
    except (UnicodeDecodeError, ValueError):
        return None


if __name__ == "__main__":
    main("feedback", FOLDED, app.sweep, due)
