"""Feedback's tables: complaints and their notes, survey definitions, invitations and
responses, and what feedback folds of its audience (stage, consent)."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from shared.db import UTCDateTime
from shared.merges import merges_table
from shared.parking import parked_table
from shared.replay_store import replays_table
from shared.rulebook import rules_table
from shared.tables import kernel_tables

metadata = MetaData()
outbox, inbox = kernel_tables(metadata)
tenant_rules = rules_table(metadata)
rule_replay = replays_table(metadata)
parked = parked_table(metadata)  # resolutions that came before their complaint

ORIGIN = "Whose it was before a merge moved it (NULL: the customer's own)"

complaint = Table(
    "complaint",
    metadata,
    Column("complaint_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("origin_id", Uuid, comment=ORIGIN),
    Column("complaint_ref", String(128), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("category", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("text", Text, nullable=False),
    # open, escalated, in_progress, waiting_on_customer → resolved → closed
    Column("status", String(24), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("escalation_level", Integer, nullable=False, server_default="0"),
    Column("escalated_at", UTCDateTime),
    # The due-time row of the escalation sweep: the next escalation, NULL when none is due.
    Column("escalate_at", UTCDateTime),
    # Only this partner's complaint.resolved may close it; NULL (filed before partners
    # were recorded): only the service desk may.
    Column("partner", String(64), comment="the partner that filed it"),
    Column("resolved_by", String(80), comment="desk, or partner:<name>"),
    Column("resolution", Text),
    Column("assignee", String(128), comment="the desk agent working it"),
    Column("first_contact_at", UTCDateTime, comment="when the desk first took it up"),
    Column("closed_at", UTCDateTime),
    Column("reopened", Integer, nullable=False, server_default="0"),
    Column("compensation_points", Integer, nullable=False, server_default="0"),
    Column("resolver", String(80), comment="the API key that resolved it at the desk"),
    Column("response_id", Uuid, comment="the detractor's answer a recovery case follows"),
    UniqueConstraint("tenant_id", "complaint_ref", name="uq_complaint_ref"),
)
Index("ix_complaint_customer", complaint.c.tenant_id, complaint.c.customer_id, complaint.c.status)
Index("ix_complaint_escalate_at", complaint.c.escalate_at)
# The analytics' window: a tenant's complaints by when they were opened.
Index("ix_complaint_opened", complaint.c.tenant_id, complaint.c.opened_at)
# The desk's queue: a tenant's complaints by due time (the filters narrow it from there).
Index("ix_complaint_desk", complaint.c.tenant_id, complaint.c.due_at, complaint.c.complaint_id)

complaint_note = Table(
    "complaint_note",
    metadata,
    Column("note_id", Uuid, primary_key=True),
    Column("complaint_id", Uuid, nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("author", String(80), comment="the API key that wrote it"),
    Column("text", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    comment="Agents' internal notes on a complaint, never shown to the customer.",
)
Index("ix_complaint_note", complaint_note.c.complaint_id, complaint_note.c.at)

survey_invitation = Table(
    "survey_invitation",
    metadata,
    Column("invitation_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("origin_id", Uuid, comment=ORIGIN),
    Column("survey", String(8), nullable=False),
    Column("order_id", String(128)),
    # scheduled → sent → answered | expired; scheduled → suppressed
    Column("status", String(16), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("invited_at", UTCDateTime),
    Column("expires_at", UTCDateTime),
    Column("answered_at", UTCDateTime),
    Column("response_id", Uuid),
    Column("occasion", String(24), nullable=False, server_default="purchase"),
    Column("occasion_ref", String(128), comment="the order, complaint or stage; a chain's link"),
    Column("channel", String(16)),
    Column("suppressed", String(24), comment="why it was not sent"),
    comment="Survey invitations: due-time rows the sweep sends, then answered or expired.",
)
Index("ix_survey_invitation_due", survey_invitation.c.status, survey_invitation.c.due_at)
Index(
    "ix_survey_invitation_customer",
    survey_invitation.c.tenant_id,
    survey_invitation.c.customer_id,
    survey_invitation.c.survey,
)

survey_response = Table(
    "survey_response",
    metadata,
    Column("response_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("origin_id", Uuid, comment=ORIGIN),
    Column("survey", String(8), nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment", Text),
    Column("responded_at", UTCDateTime, nullable=False),
    Column("channel", String(64), comment="where answered: the invitation's, or the partner's"),
    Column("invitation_id", Uuid),
)
Index("ix_survey_response_customer", survey_response.c.tenant_id, survey_response.c.customer_id)
Index("ix_survey_response_tenant", survey_response.c.tenant_id, survey_response.c.responded_at)

survey_definition = Table(
    "survey_definition",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("survey", String(8), primary_key=True),
    Column("definition", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    comment="A tenant's own surveys; a tenant without rows has feedback.toml's defaults.",
)

# What feedback folds of its audience: lifecycle's stage (a churned customer is not
# invited) and the last invitation sent (fatigue). A customer's row is also the lock the
# sweep takes before inviting them, so two replicas never invite one customer twice.
respondent = Table(
    "respondent",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("stage", String(24)),
    Column("stage_at", UTCDateTime),
    Column("last_invited_at", UTCDateTime),
    # Loyalty's tier and lifecycle's value class, folded so satisfaction reads by them.
    Column("tier", String(128)),
    Column("tier_at", UTCDateTime),
    Column("value_class", String(128)),
    Column("value_class_at", UTCDateTime),
    Column("preferred_channel", String(64), comment="where they buy and answer most, as announced"),
)

consent = Table(
    "consent",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("purpose", String(16), primary_key=True),
    Column("granted", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False, comment="when the customer decided"),
    comment="Each customer's latest consent decision per channel and purpose (from profile).",
)

# Each order's channel and amount (from crm.activity), so channel analytics joins the
# orders with the answers and complaints feedback owns, all in its own database.
channel_order = Table(
    "channel_order",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("order_id", String(128), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("purchased_at", UTCDateTime, nullable=False),
    comment="Orders by channel, for channel analytics (gross of refunds).",
)
Index("ix_channel_order_at", channel_order.c.tenant_id, channel_order.c.purchased_at)
Index(
    "ix_survey_response_channel",
    survey_response.c.tenant_id,
    survey_response.c.channel,
    survey_response.c.responded_at,
)
customer_merge = merges_table(
    metadata, comment="Merges applied, and where a merged-away id lives on while they stand."
)

# Which segments each customer is in (from profile's segment_entered/exited), so
# satisfaction can be grouped by segment in feedback's own database.
segment_member = Table(
    "segment_member",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("customer_id", Uuid, primary_key=True),
    Column("segment_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, comment="the segment's name when entered"),
    Column("entered_at", UTCDateTime, nullable=False),
    comment="Segment membership as profile announces it (a customer may be in several).",
)
