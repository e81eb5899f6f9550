"""Keeping survey answers, the two ways they come: a partner's ``survey.responded``
event, and a customer's answer posted with the ``answer_token`` of their invitation.

Either way an answer is kept once and announced (``crm.feedback.survey_answered.v1``,
saying whether it is a detractor's), and a detractor's opens a recovery case on the
desk (``domain.recovery``) in the same unit of work, so no detractor goes unfollowed
even if the service stops right after. A token answers its own invitation only,
once, before it expires: the invitation's row, locked, says whether it still may.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.feedback import announcements, preferences, sealing, store
from services.feedback.domain import invitations, recovery, tokens
from services.feedback.domain.config import FeedbackConfig
from services.feedback.domain.invitations import SENT, Invitation
from services.feedback.domain.surveys import Response, check_scale
from shared.events import CloudEvent
from shared.keyring import Keys
from shared.uow import Database, UnitOfWork


class UnknownInvitation(Exception):
    """A genuine token whose invitation this service does not hold (or no longer)."""


class NotOpen(Exception):
    """The invitation was answered already, or lapsed."""

    def __init__(self, invitation: Invitation) -> None:
        super().__init__(f"the invitation is {invitation.status}")
        self.invitation = invitation


@dataclass(frozen=True)
class TokenAnswer:
    """What a customer posts: the token of their invitation, a score and a comment
    (and the tenant the gateway forwarded it to, read from the token)."""

    tenant_id: str
    token: str
    score: int
    comment: str | None


async def keep(
    uow: UnitOfWork,
    responses: Mapping[Response, CloudEvent | None],
    config: FeedbackConfig,
    keys: sealing.CustomerKeys = sealing.NONE,
) -> None:
    """Keep these answers (each with the event that brought it, if one did), announce
    them (a token answer's comment sealed under its customer's key in ``keys``), and
    open a recovery case for each detractor's."""
    await store.add_responses(uow.conn, list(responses))
    detractors = {r: cause for r, cause in responses.items() if recovery.is_detractor(config, r)}
    uow.publish(
        *(
            announcements.survey_answered(r, r in detractors, cause, keys.get(r.customer_id))
            for r, cause in responses.items()
        )
    )
    cases = {recovery.recovery_case(config, r): cause for r, cause in detractors.items()}
    opened = await store.add_complaints(uow.conn, list(cases))
    counts = await store.open_counts(uow.conn, {c.customer for c in opened})
    uow.publish(
        *(announcements.complaint_opened(c, counts.get(c.customer, 1), cases[c]) for c in opened)
    )


async def answer_by_token(
    db: Database, secret: bytes, answer: TokenAnswer, config: FeedbackConfig, keys: Keys
) -> Response:
    """Keep the answer to the invitation ``answer.token`` names, and return it, its
    comment announced sealed under the customer's key from ``keys``. Raises
    ``tokens.ForgedToken``, ``tokens.ExpiredToken``, ``UnknownInvitation``, ``NotOpen``,
    ``surveys.OffScale`` or ``KeysUnavailable``; nothing is written then."""
    now = db.clock.now()
    claims = tokens.verify(secret, answer.token, now)
    if claims.tenant_id != answer.tenant_id:
        raise UnknownInvitation(claims.invitation_id)
    customer = claims.customer_id
    sealing_keys = await sealing.keys_for(keys, claims.tenant_id, customer, answer.comment)
    async with db.unit_of_work() as uow:
        asked = Answered(claims.tenant_id, customer, claims.invitation_id)
        response = await answer_in(
            uow, asked, answer.score, answer.comment, now, config, sealing_keys
        )
        await uow.commit()
    return response


@dataclass(frozen=True)
class Answered:
    """Which invitation an answer token named: of which tenant and customer."""

    tenant_id: str
    customer_id: uuid.UUID
    invitation_id: uuid.UUID


async def answer_in(
    uow: UnitOfWork,
    asked: Answered,
    score: int,
    comment: str | None,
    now: datetime,
    config: FeedbackConfig,
    keys: sealing.CustomerKeys = sealing.NONE,
) -> Response:
    """Keep the answer given at ``now`` to the invitation in ``uow``: posted with its
    token, or again by a rebuild from its ``survey_answered`` event
    (``services.feedback.decisions``), which announces nothing and so needs no ``keys``
    to seal the comment with."""
    invitation = await store.lock_invitation(
        uow.conn, asked.tenant_id, asked.customer_id, asked.invitation_id
    )
    if invitation is None:
        raise UnknownInvitation(asked.invitation_id)
    if invitation.status != SENT:
        raise NotOpen(invitation)
    check_scale(invitation.survey, score)
    response = Response(
        response_id=uuid.uuid5(invitation.invitation_id, "answer"),
        tenant_id=invitation.tenant_id,
        customer_id=invitation.customer_id,
        survey=invitation.survey,
        score=score,
        comment=comment,
        responded_at=now,
        channel=invitation.channel,
        invitation_id=invitation.invitation_id,
    )
    await store.save_invitations(uow.conn, [invitations.answer(invitation, response)])
    await keep(uow, {response: None}, config, keys)
    await preferences.settle(uow, {(response.tenant_id, response.customer_id): response})
    return response
