"""The channel figures as they were computed before the read was reshaped (a distinct
count and a correlated complaint probe per order, a consent probe per touch, the
preferred channel by numbering each customer's channels), kept only as the oracle the
read is compared with; and the random windows the tests compare them over."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, exists, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from services.feedback.domain.channels import ChannelCounts, Revenue, figures
from services.feedback.domain.complaints import RECOVERY
from services.feedback.tables import channel_order, complaint, consent, survey_response

Window = tuple[datetime, datetime]


async def old_channel_figures(
    engine: AsyncEngine, tenant_id: str, window: Window
) -> list[dict[str, object]]:
    """``services.feedback.channels.channel_figures`` before the reshaping, verbatim."""
    counts: dict[str, ChannelCounts] = defaultdict(ChannelCounts)
    async with engine.connect() as conn:
        await _orders(conn, tenant_id, window, counts)
        await _complaints(conn, tenant_id, window, counts)
        await _nps(conn, tenant_id, window, counts)
        await _preferred(conn, tenant_id, window, counts)
    return figures(counts)


def _in(at: ColumnElement[Any], window: Window) -> ColumnElement[bool]:
    return and_(at >= window[0], at < window[1])


def _complained(tenant_id: str, window: Window, customer: ColumnElement[Any]) -> Any:
    c = complaint.c
    return exists().where(
        c.tenant_id == tenant_id,
        c.customer_id == customer,
        c.category != RECOVERY,
        _in(c.opened_at, window),
    )


async def _orders(
    conn: AsyncConnection, tenant_id: str, window: Window, counts: dict[str, ChannelCounts]
) -> None:
    o = channel_order.c
    mine = and_(o.tenant_id == tenant_id, _in(o.purchased_at, window))
    by_currency = (
        select(o.channel, o.currency, func.count(), func.sum(o.amount_minor))
        .where(mine)
        .group_by(o.channel, o.currency)
    )
    for channel, currency, orders, revenue in await conn.execute(by_currency):
        counts[channel].revenue.append(Revenue(currency, orders, int(revenue)))
    complained = _complained(tenant_id, window, o.customer_id)
    customers = (
        select(
            o.channel,
            func.count(func.distinct(o.customer_id)),
            func.count(func.distinct(o.customer_id)).filter(complained),
        )
        .where(mine)
        .group_by(o.channel)
    )
    for channel, buyers, complaining in await conn.execute(customers):
        counts[channel].customers = buyers
        counts[channel].complaining_customers = complaining


async def _complaints(
    conn: AsyncConnection, tenant_id: str, window: Window, counts: dict[str, ChannelCounts]
) -> None:
    c = complaint.c
    query = (
        select(c.channel, func.count())
        .where(c.tenant_id == tenant_id, c.category != RECOVERY, _in(c.opened_at, window))
        .group_by(c.channel)
    )
    for channel, n in await conn.execute(query):
        counts[channel].complaints = n


async def _nps(
    conn: AsyncConnection, tenant_id: str, window: Window, counts: dict[str, ChannelCounts]
) -> None:
    r = survey_response.c
    query = (
        select(r.channel, r.score, func.count())
        .where(
            r.tenant_id == tenant_id,
            r.survey == "nps",
            r.channel.is_not(None),
            _in(r.responded_at, window),
        )
        .group_by(r.channel, r.score)
    )
    for channel, score, n in await conn.execute(query):
        counts[channel].nps_counts[score] = n


async def _preferred(
    conn: AsyncConnection, tenant_id: str, window: Window, counts: dict[str, ChannelCounts]
) -> None:
    o, r = channel_order.c, survey_response.c
    touches = union_all(
        select(o.customer_id, o.channel).where(
            o.tenant_id == tenant_id, _in(o.purchased_at, window)
        ),
        select(r.customer_id, r.channel).where(
            r.tenant_id == tenant_id, r.channel.is_not(None), _in(r.responded_at, window)
        ),
    ).subquery()
    n = func.count().label("n")
    per_channel = (
        select(touches.c.customer_id, touches.c.channel, n)
        .where(~_withdrawn(tenant_id, touches.c.customer_id, touches.c.channel))
        .group_by(touches.c.customer_id, touches.c.channel)
        .subquery()
    )
    rank = (
        func.row_number()
        .over(
            partition_by=per_channel.c.customer_id,
            order_by=(per_channel.c.n.desc(), per_channel.c.channel),
        )
        .label("rank")
    )
    ranked = select(per_channel.c.channel, rank).subquery()
    query = (
        select(ranked.c.channel, func.count())
        .where(ranked.c.rank == literal_column("1"))
        .group_by(ranked.c.channel)
    )
    for channel, customers in await conn.execute(query):
        counts[channel].preferred_by = customers


def _withdrawn(tenant_id: str, customer: Any, channel: Any) -> ColumnElement[bool]:
    c = consent.c
    decided = and_(c.tenant_id == tenant_id, c.customer_id == customer, c.channel == channel)
    return and_(exists().where(decided), ~exists().where(decided, c.granted.is_(True)))


def random_windows(rng: random.Random, start: datetime, days: int, n: int) -> list[Window]:
    """``n`` windows over ``days`` from ``start``: part-days and whole days, within one
    day, empty, past the data, some written in another offset than UTC."""
    midnight = datetime.combine(start.date(), datetime.min.time(), UTC)

    def instant() -> datetime:
        at = midnight + timedelta(days=rng.randrange(-2, days + 2))
        if rng.random() < 0.6:
            at += timedelta(seconds=rng.randrange(86400), microseconds=rng.randrange(10**6))
        if rng.random() < 0.3:
            at = at.astimezone(timezone(timedelta(hours=rng.choice([-7, 2, 5, 14]))))
        return at

    windows = [(midnight - timedelta(days=3), midnight + timedelta(days=days + 3))]
    while len(windows) < n:
        a = instant()
        match rng.randrange(4):
            case 0:
                b = a + timedelta(seconds=rng.randrange(86400))  # within a day or two
            case 1:
                b = a  # empty
            case _:
                b = instant()
        windows.append((min(a, b), max(a, b)))
    return windows
