"""Feedback's tables: complaints, survey invitations and survey responses."""

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, Uuid

from shared.db import UTCDateTime
from shared.parking import parked_table
from shared.tables import kernel_tables

metadata = MetaData()
outbox, inbox = kernel_tables(metadata)
parked = parked_table(metadata)  # resolutions that came before their complaint

complaint = Table(
    "complaint",
    metadata,
    Column("complaint_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("complaint_ref", String(128), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("category", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),
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
    UniqueConstraint("tenant_id", "complaint_ref", name="uq_complaint_ref"),
)
Index("ix_complaint_customer", complaint.c.tenant_id, complaint.c.customer_id, complaint.c.status)
Index("ix_complaint_escalate_at", complaint.c.escalate_at)

survey_invitation = Table(
    "survey_invitation",
    metadata,
    Column("invitation_id", Uuid, primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("survey", String(8), nullable=False),
    Column("order_id", String(128)),
    # scheduled → sent → answered | expired
    Column("status", String(16), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("invited_at", UTCDateTime),
    Column("expires_at", UTCDateTime),
    Column("answered_at", UTCDateTime),
    Column("response_id", Uuid),
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
    Column("survey", String(8), nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment", Text),
    Column("responded_at", UTCDateTime, nullable=False),
)
Index("ix_survey_response_customer", survey_response.c.tenant_id, survey_response.c.customer_id)
