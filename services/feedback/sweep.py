"""Time-based feedback work from due-time rows: survey invitations falling due, lapsing
invitations, and complaints breaching their SLA.

Each pass takes due rows a batch at a time with ``FOR UPDATE SKIP LOCKED`` and moves
them past their due time in the same transaction as the events it writes, so replicas
share the work without waiting on each other and nothing is sent or escalated twice.
An invitation falls due under the audience rules (``domain.audience``): the sweep
locks its customer's ``respondent`` row (skipping a customer another replica is
inviting), so fatigue holds across replicas as well as across surveys.
No in-memory timers: the injected clock decides what is due, so tests move time and a
restart loses nothing. The same code answers ``POST /v1/feedback/sweep``.

Each piece is done at its due time, however late the pass that finds it: an invitation
is sent (gated, stamped, its expiry counted) at its ``due_at``, an escalation made at
the time its level fell due. Live, the periodic pass runs every few seconds, so that
moves the stamps by as much; after an outage an invitation keeps its due time (and
expires when it would have). What it buys: a rebuild (``shared.rebuild``) need not
sweep every hour of the history to stamp what live stamped, only before a customer's
event that follows their due work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from services.feedback import announcements, store
from services.feedback.domain import audience, complaints, invitations, tokens
from services.feedback.domain.complaints import Complaint, Escalated
from services.feedback.domain.config import FeedbackConfig
from services.feedback.domain.definitions import SurveyDefinition, Surveys
from services.feedback.domain.invitations import Invitation
from shared.answer_tokens import AnswerClaims
from shared.events import CloudEvent
from shared.rulebook import Rulebook
from shared.sweeps import Swept, drain
from shared.uow import Database


@dataclass(frozen=True)
class Sweeper:
    """What a sweep needs besides the database: the rules, the batch size, and the
    secret answer tokens are signed with (None: invitations go without one)."""

    config: FeedbackConfig
    limit: int
    secret: bytes | None = None
    policies: Rulebook[FeedbackConfig] | None = None  # the tenants' own, where they have one

    def of(self, tenant: str) -> FeedbackConfig:
        """The tenant's policy in force (its own, else the installation's ``config``)."""
        return self.config if self.policies is None else self.policies.of(tenant)


async def sweep_due(db: Database, sweeper: Sweeper, tenant: str | None = None) -> Swept:
    """Everything due at the clock's now, batch after batch: of one tenant (a tenant's
    admin sweeps their own work and sees their own counts) or of all (``None``: the
    background pass and an operator's): how many ``invited``, ``suppressed``,
    ``expired``, ``escalated``."""
    return await drain(lambda: _sweep_batch(db, sweeper, tenant))


async def _sweep_batch(db: Database, sweeper: Sweeper, tenant: str | None) -> Swept:
    now, limit = db.clock.now(), sweeper.limit
    async with db.unit_of_work() as uow:
        if sweeper.policies is not None:
            await sweeper.policies.refresh(uow.conn)
        due = await store.due_invitations(uow.conn, now, limit, tenant)
        sent, suppressed, events = await _invite(uow.conn, sweeper, due, now)
        lapsing = await store.lapsing_invitations(uow.conn, now, limit, tenant)
        lapsed = [invitations.expire(i) for i in lapsing]
        await store.save_invitations(uow.conn, [*sent, *suppressed, *lapsed])
        escalated = await _escalate(uow.conn, sweeper, now, limit, tenant)
        uow.publish(
            *events,
            *(announcements.invitation_expired(i) for i in lapsed),
            *(_escalation(c, step, now) for c, step in escalated),
        )
        await uow.commit()
    counts = {
        "invited": len(sent),
        "suppressed": len(suppressed),
        "expired": len(lapsed),
        "escalated": len(escalated),
    }
    # Invitations of customers another replica holds stay due for a later pass. What
    # this batch did may have made more due at once (a late pass: an invitation sent at
    # its due time may have lapsed since, a complaint's next level fallen due): another
    # batch, until one does nothing, so a pass leaves nothing due behind it.
    return Swept(counts, more=any(counts.values()))


async def _invite(
    conn: AsyncConnection, sweeper: Sweeper, due: list[Invitation], now: datetime
) -> tuple[list[Invitation], list[Invitation], list[CloudEvent]]:
    """Send or suppress the due invitations whose customers this replica holds (the
    others stay due), schedule each periodic survey's next link, and return the sent,
    the suppressed and the announcements."""
    held = await store.lock_audience(conn, {i.key for i in due})
    surveys: dict[str, Surveys] = {}
    for owner in {t for t, _ in held}:
        surveys |= await store.surveys_of(conn, {owner}, sweeper.of(owner).invitations)
    sent: list[Invitation] = []
    suppressed: list[Invitation] = []
    events: list[CloudEvent] = []
    for invitation in sorted(due, key=lambda i: i.due_at):
        facts = held.get(invitation.key)
        if facts is None:
            continue
        definition = surveys[invitation.tenant_id].get(invitation.survey)
        rules = sweeper.of(invitation.tenant_id).invitations
        at = min(invitation.due_at, now)  # its due time: see the module's docstring
        verdict = audience.gate(invitation, definition, facts, rules, at)
        if verdict.channel is None or definition is None:
            suppressed.append(invitations.suppress(invitation, verdict.suppressed or "survey_off"))
        else:
            done = invitations.send(invitation, verdict.channel, definition, at)
            held[invitation.key] = facts.invited(at)
            sent.append(done)
            events.append(announcements.survey_invited(done, definition, _token(sweeper, done)))
    links = [invitations.next_link(i, _definition(surveys, i)) for i in [*sent, *suppressed]]
    await store.add_invitations(conn, [i for i in links if i is not None])
    await store.save_last_invited(conn, {i.key: i.invited_at for i in sent if i.invited_at})
    return sent, suppressed, events


def _definition(surveys: dict[str, Surveys], invitation: Invitation) -> SurveyDefinition | None:
    return surveys.get(invitation.tenant_id, {}).get(invitation.survey)


def _token(sweeper: Sweeper, sent: Invitation) -> str | None:
    """The answer token of a sent invitation, valid until it expires."""
    if sweeper.secret is None or sent.expires_at is None:
        return None
    claims = AnswerClaims(sent.tenant_id, sent.invitation_id, sent.customer_id, sent.expires_at)
    return tokens.issue(sweeper.secret, claims)


async def _escalate(
    conn: AsyncConnection, sweeper: Sweeper, now: datetime, limit: int, tenant: str | None
) -> list[tuple[Complaint, Escalated]]:
    """Escalate the complaints whose next escalation is due, a level each; one at the
    top level keeps it, with nothing more due. The escalations made."""
    stepped = [
        complaints.escalate_complaint(c, sweeper.of(c.tenant_id).escalation, now)
        for c in await store.due_escalations(conn, now, limit, tenant)
    ]
    await store.save_complaints(conn, [c for c, _ in stepped])
    return [(c, step) for c, step in stepped if step is not None]


def _escalation(complaint: Complaint, step: Escalated, now: datetime) -> CloudEvent:
    """The announcement of an escalation, at the time it was made (its level's)."""
    return announcements.complaint_escalated(complaint, step, complaint.escalated_at or now)
