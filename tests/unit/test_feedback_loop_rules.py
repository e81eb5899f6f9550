"""The closed loop's rules: who may be asked (fatigue across surveys, open complaints,
churned customers, consent per channel), which answers are a detractor's, and answer
tokens (signed, bound to their claims, expiring)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.feedback.domain import audience, tokens
from services.feedback.domain.audience import Audience
from services.feedback.domain.config import Detractors, Invitations
from services.feedback.domain.definitions import defaults
from services.feedback.domain.invitations import SCHEDULED, Invitation
from shared.answer_tokens import AnswerClaims

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
DAY = timedelta(days=1)
RULES = Invitations(fatigue_days=7, channels=("email", "sms"))
SURVEYS = defaults(RULES)
CSAT = Invitation(uuid.uuid4(), "t", uuid.uuid4(), "csat", "O-1", SCHEDULED, T0)
CES = replace(CSAT, survey="ces", occasion="complaint_resolved")


def gate(invitation: Invitation, facts: Audience, rules: Invitations = RULES):  # type: ignore[no-untyped-def]
    return audience.gate(invitation, SURVEYS[invitation.survey], facts, rules, T0)


def test_a_customer_who_may_be_asked_is_asked_on_the_first_channel_allowed():
    assert gate(CSAT, Audience()).channel == "email"
    assert gate(CSAT, Audience(consent={"email": False})).channel == "sms"
    opt_in = RULES.model_copy(update={"survey_consent": "opt_in"})
    assert gate(CSAT, Audience(consent={"sms": True}), opt_in).channel == "sms"
    assert gate(CSAT, Audience(), opt_in).suppressed == "no_consent"
    assert gate(CSAT, Audience(consent={"email": False, "sms": False})).suppressed == "no_consent"


def test_churned_open_complaint_and_fatigue_suppress_in_that_order():
    assert gate(CSAT, Audience(stage="churned", open_complaints=1)).suppressed == "churned"
    assert gate(CSAT, Audience(open_complaints=1, last_invited_at=T0)).suppressed == (
        "open_complaint"
    )
    assert gate(CSAT, Audience(last_invited_at=T0 - 6 * DAY)).suppressed == "fatigue"
    assert gate(CSAT, Audience(last_invited_at=T0 - 7 * DAY)).channel == "email"
    unlimited = RULES.model_copy(update={"fatigue_days": 0})
    assert gate(CSAT, Audience(last_invited_at=T0), unlimited).channel == "email"


def test_the_ces_after_a_resolution_passes_open_complaints_and_fatigue_not_churn():
    assert gate(CES, Audience(open_complaints=2, last_invited_at=T0)).channel == "email"
    assert gate(CES, Audience(stage="churned")).suppressed == "churned"
    off = replace(SURVEYS["ces"], enabled=False)
    assert audience.gate(CES, off, Audience(), RULES, T0).suppressed == "survey_off"


@pytest.mark.parametrize(
    ("survey", "score", "detractor"),
    [("nps", 6, True), ("nps", 7, False), ("csat", 2, True), ("csat", 3, False),
     ("ces", 5, True), ("ces", 4, False)],
)  # fmt: skip
def test_detractor_thresholds(survey, score, detractor):
    assert Detractors()(survey, score) is detractor
    assert Detractors(nps_max=8)("nps", 8) is True


SECRET = tokens.token_secret("k" * 40)
CLAIMS = AnswerClaims("t", uuid.uuid4(), uuid.uuid4(), T0 + 14 * DAY)


def test_a_token_verifies_until_its_expiry_and_never_after():
    token = tokens.issue(SECRET, CLAIMS)

    assert tokens.verify(SECRET, token, T0) == CLAIMS
    with pytest.raises(tokens.ExpiredToken):
        tokens.verify(SECRET, token, T0 + 14 * DAY)
    with pytest.raises(tokens.ForgedToken):
        tokens.verify(tokens.token_secret("other" * 8), token, T0)


@given(st.text(min_size=1, max_size=12, alphabet="abcdefghij-_"), st.integers(0, 2**31))
def test_altered_claims_never_verify(tenant, expiry):
    token = tokens.issue(SECRET, CLAIMS)
    other = AnswerClaims(tenant, CLAIMS.invitation_id, CLAIMS.customer_id,
                         datetime.fromtimestamp(expiry, UTC))  # fmt: skip
    forged_claims = tokens.issue(b"x" * 32, other).split(".")[1]
    altered = ".".join([token.split(".")[0], forged_claims, token.split(".")[2]])
    if other == CLAIMS:
        return
    with pytest.raises(tokens.ForgedToken):
        tokens.verify(SECRET, altered, T0)
