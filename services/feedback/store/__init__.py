"""Feedback's repository: complaints and notes (``complaints``), survey definitions,
invitations and responses (``surveys``), the audience (``audience``) and orders by
channel (``channels``), read and
written a batch at a time. It flushes and never commits; the caller's unit of work does.

Rows come back as the domain's frozen dataclasses (``Complaint``, ``Invitation``,
``Audience``), and a changed one is written back whole, by its id. Every row read to be
changed is locked with ``FOR UPDATE`` until the unit of work ends, so the value
written back is the one read; the sweep's due rows skip rows another replica holds
(``SKIP LOCKED``) rather than wait for them, so replicas share the work.
"""

from services.feedback.store.audience import (
    add_respondents,
    consent_decisions,
    folded,
    lock_audience,
    save_consents,
    save_folded,
    save_last_invited,
    survey_consents,
)
from services.feedback.store.channels import ChannelOrder, add_channel_orders
from services.feedback.store.complaints import (
    Key,
    RefKey,
    add_complaints,
    add_notes,
    complaints_by_ref,
    count_notes,
    due_escalations,
    lock_complaint,
    open_counts,
    save_complaints,
)
from services.feedback.store.rows import complaint_of, invitation_of, response_of
from services.feedback.store.surveys import (
    add_invitations,
    add_responses,
    definition_of,
    document_of,
    due_invitations,
    lapsing_invitations,
    latest_invitations,
    lock_invitation,
    save_invitations,
    save_surveys,
    sent_invitations,
    surveys_of,
)

__all__ = [
    "ChannelOrder",
    "Key",
    "RefKey",
    "add_channel_orders",
    "add_complaints",
    "add_invitations",
    "add_notes",
    "add_respondents",
    "add_responses",
    "complaint_of",
    "complaints_by_ref",
    "consent_decisions",
    "count_notes",
    "definition_of",
    "document_of",
    "due_escalations",
    "due_invitations",
    "folded",
    "invitation_of",
    "lapsing_invitations",
    "latest_invitations",
    "lock_audience",
    "lock_complaint",
    "lock_invitation",
    "open_counts",
    "response_of",
    "save_complaints",
    "save_consents",
    "save_folded",
    "save_invitations",
    "save_last_invited",
    "save_surveys",
    "sent_invitations",
    "survey_consents",
    "surveys_of",
]
