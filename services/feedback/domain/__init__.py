"""Feedback's rules in plain Python: configuration (``config``), complaints and their
status machine (``complaints``: SLA, who may resolve, escalation) and the desk's moves
on it (``desk``), survey answers and scores (``surveys``), tenants' survey definitions
(``definitions``), invitations and theirs (``invitations``: triggers, throttle,
expiry), who may be asked (``audience``: churn, open complaints, fatigue, consent),
detractors' recovery cases (``recovery``) and answer tokens (``tokens``)."""

from services.feedback.domain.complaints import (
    DESK,
    OPEN_STATUSES,
    Complaint,
    Escalated,
    IllegalStep,
    Resolution,
    escalate,
    escalation_due,
    may_resolve,
    resolvable,
    resolved_by_partner,
    sla_due,
    within_sla,
)
from services.feedback.domain.config import ConfigError, FeedbackConfig, load_config
from services.feedback.domain.invitations import Invitation, Occasion, Planned, plan_invitations
from services.feedback.domain.surveys import Response, nps_category, scores

__all__ = [
    "DESK",
    "OPEN_STATUSES",
    "Complaint",
    "ConfigError",
    "Escalated",
    "FeedbackConfig",
    "IllegalStep",
    "Invitation",
    "Occasion",
    "Planned",
    "Resolution",
    "Response",
    "escalate",
    "escalation_due",
    "load_config",
    "may_resolve",
    "nps_category",
    "plan_invitations",
    "resolvable",
    "resolved_by_partner",
    "scores",
    "sla_due",
    "within_sla",
]
