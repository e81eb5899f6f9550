"""Each customer's preferred channel (``domain.channels.preferred``): re-decided for the
customers a batch touched (an order, an answer with its channel, a consent decision)
from all their orders and answers, and announced only when it changes
(``crm.feedback.preferred_channel_changed.v1``; profile shows it in the 360).
Set-based: three reads and one write for the whole batch."""

from __future__ import annotations

from collections.abc import Mapping

from services.feedback import announcements, store
from services.feedback.domain.channels import preferred
from services.feedback.domain.surveys import Response
from services.feedback.store.channels import (
    announced_preferences,
    channel_touches,
    save_preferences,
    withdrawn_channels,
)
from shared.events import CloudEvent
from shared.uow import UnitOfWork


async def settle(uow: UnitOfWork, touched: Mapping[store.Key, CloudEvent | Response]) -> None:
    """Re-decide the preferred channel of each touched customer (each with the event that
    touched them last) and announce the changes."""
    if not touched:
        return
    keys = set(touched)
    await store.add_respondents(uow.conn, keys)
    announced = await announced_preferences(uow.conn, keys)
    touches = await channel_touches(uow.conn, keys)
    withdrawn = await withdrawn_channels(uow.conn, keys)
    changed = {}
    for key in keys:
        now = preferred(touches.get(key, {}), withdrawn.get(key, set()))
        if now != announced.get(key):
            changed[key] = now
    await save_preferences(uow.conn, changed)
    uow.publish(
        *(
            announcements.preferred_channel_changed(channel, announced.get(key), touched[key])
            for key, channel in changed.items()
        )
    )
