"""Consent: may we address a customer on a channel for a purpose? Plain Python, no I/O.

The rules, and why:

1. **Every decision is kept**, with when the customer took it, where (a partner
   system or ``api``), its proof (the text agreed to, or the partner's reference) and
   who recorded it: a regulator asks for the history, not only the state.
2. **The latest decision wins, by when it was taken**, not by when it reached us: a
   partner's delayed "granted" from last week never overrides a withdrawal made
   today. It is recorded all the same, marked as not applied. Of two decisions taken
   at the same instant, the one recorded later wins.
3. **No decision means no consent.** A channel and purpose the customer never
   decided on is not granted; services that address customers ask for ``granted``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

Slot = tuple[str, uuid.UUID, str, str]  # tenant, customer, channel, purpose


@dataclass(frozen=True)
class State:
    """A customer's current consent on one channel for one purpose."""

    tenant_id: str
    customer_id: uuid.UUID
    channel: str
    purpose: str
    granted: bool
    at: datetime
    source: str
    change_id: uuid.UUID

    @property
    def slot(self) -> Slot:
        return (self.tenant_id, self.customer_id, self.channel, self.purpose)

    def row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """A customer granted or withdrew consent, as recorded."""

    change_id: uuid.UUID
    tenant_id: str
    customer_id: uuid.UUID
    channel: str
    purpose: str
    granted: bool
    at: datetime
    source: str
    proof: str | None
    recorded_by: str

    @property
    def slot(self) -> Slot:
        return (self.tenant_id, self.customer_id, self.channel, self.purpose)

    def state(self) -> State:
        return State(
            self.tenant_id,
            self.customer_id,
            self.channel,
            self.purpose,
            self.granted,
            self.at,
            self.source,
            self.change_id,
        )

    def row(self) -> dict[str, Any]:
        return asdict(self)


def judge(
    current: Mapping[Slot, State], decisions: Iterable[Decision]
) -> list[tuple[Decision, bool]]:
    """Each decision, in the order recorded, with whether it becomes the current state
    (it is not older than the state it meets)."""
    states = dict(current)
    judged = []
    for decision in decisions:
        now = states.get(decision.slot)
        applies = now is None or decision.at >= now.at
        if applies:
            states[decision.slot] = decision.state()
        judged.append((decision, applies))
    return judged


def granted(states: Iterable[State], channel: str, purpose: str) -> bool:
    """Whether the customer consented to this channel and purpose (no decision: no)."""
    return any(s.granted for s in states if (s.channel, s.purpose) == (channel, purpose))
