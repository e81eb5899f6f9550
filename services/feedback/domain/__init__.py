"""Feedback's rules in plain Python: configuration, complaints (SLA, resolution,
escalation) and surveys (NPS buckets, invitations, scores)."""

from services.feedback.domain.complaints import (
    OPEN_STATUSES,
    Escalated,
    escalate,
    escalation_due,
    resolvable,
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
    "OPEN_STATUSES",
    "ConfigError",
    "Escalated",
    "FeedbackConfig",
    "Occasion",
    "Planned",
    "escalate",
    "escalation_due",
    "load_config",
    "nps_category",
    "plan_invitations",
    "resolvable",
    "scores",
    "sla_due",
    "within_sla",
]
