"""Feedback's rules in plain Python: configuration, complaints (SLA, resolution,
escalation) and surveys (NPS buckets, invitations, scores)."""

from services.feedback.domain.complaints import (
    DESK,
    OPEN_STATUSES,
    Escalated,
    escalate,
    escalation_due,
    may_resolve,
    resolvable,
    resolved_by_partner,
    sla_due,
    within_sla,
)
from services.feedback.domain.config import ConfigError, FeedbackConfig, load_config
from services.feedback.domain.surveys import (
    Occasion,
    Planned,
    nps_category,
    plan_invitations,
    scores,
)

__all__ = [
    "DESK",
    "OPEN_STATUSES",
    "ConfigError",
    "Escalated",
    "FeedbackConfig",
    "Occasion",
    "Planned",
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
