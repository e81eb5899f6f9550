"""Rebuild feedback's complaints, surveys and audience from the topics.

    python -m services.feedback.rebuild         (with the feedback service stopped)

Thrown away and folded again (``services.rebuilding``): complaints, survey invitations
and responses, what feedback knows of its audience (stages, tiers, value classes,
consents, segments, orders by channel), the merges and the resolutions waiting for
their complaint. They come from crm.activity, crm.lifecycle, crm.profile, crm.loyalty
and erasures; invitations are sent or lapse and complaints escalate as the sweep finds
them due on the way (it runs at least once an hour of the history: ``TICK``).

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

from datetime import timedelta

from services.feedback import app
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

# The sweep stamps its now on an invitation it sends (and an escalation): it runs at
# least once an hour of the history, as near as the periodic sweep does to live.
TICK = timedelta(hours=1)

if __name__ == "__main__":
    main("feedback", FOLDED, app.sweep, TICK)
