"""Every detractor followed up: an answer past its survey's detractor threshold opens a
recovery case on the desk, a complaint of category ``detractor_recovery`` with the
SLA of ``[recovery]``, linked to the answer. Plain Python.

The case is one per answer (its ref names the response), so an answer recorded twice
opens one case. Its goodwill, if any, is the agent's decision at resolution, capped
by loyalty like any compensation; opening it grants nothing unless loyalty's rules
give goodwill to its severity (the shipped ``medium`` earns none).
"""

from __future__ import annotations

import uuid

from services.feedback.domain.complaints import RECOVERY, Complaint, open_complaint
from services.feedback.domain.config import FeedbackConfig
from services.feedback.domain.surveys import Response

SURVEY_CHANNEL = "survey"  # a case's channel when the answer came without one


def is_detractor(config: FeedbackConfig, response: Response) -> bool:
    """Whether the answer passes its survey's detractor threshold."""
    return config.detractors(response.survey, response.score)


def recovery_case(config: FeedbackConfig, response: Response) -> Complaint:
    """The recovery case a detractor's answer opens, due by ``[recovery]``."""
    text = response.comment or f"{response.survey.upper()} answer {response.score}"
    return open_complaint(
        config,
        complaint_id=uuid.uuid5(response.response_id, "recovery"),
        tenant_id=response.tenant_id,
        customer_id=response.customer_id,
        complaint_ref=f"recovery:{response.response_id}",
        severity=config.recovery.severity,
        category=RECOVERY,
        channel=response.channel or SURVEY_CHANNEL,
        text=text,
        opened_at=response.responded_at,
        partner=None,
        response_id=response.response_id,
    )
