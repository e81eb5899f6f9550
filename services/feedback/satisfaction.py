"""Satisfaction by group and over time: NPS, CSAT and CES of a window's answers, per
``channel`` (where it was answered), ``stage``, ``tier`` or ``value_class`` (the
customer's current ones, folded from lifecycle's and loyalty's events onto
``respondent``), and per day, week (from Monday) or month, each figure with its answer
count and 95 % interval (``domain.statistics``). Read-only, on feedback's own tables.

One query counts the answers by (day, group, survey, score), so the database returns at
most days × groups × 23 scores rows, whatever the number of answers; days are rolled up
into weeks and months here, the same on PostgreSQL and SQLite.

By ``segment``: a join on the membership feedback folds from profile's
``segment.entered``/``segment.exited`` (``segments``; a customer in two segments counts
in both, and in the null group if in none), the key the segment's id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import BigInteger, and_, cast, extract, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from services.feedback import domain
from services.feedback.tables import respondent, segment_member, survey_response

GroupBy = Literal["channel", "stage", "tier", "value_class", "segment"]
Period = Literal["day", "week", "month"]
MAX_PERIODS = 400
EPOCH = date(1970, 1, 1)
Cell = tuple[datetime | None, str | None]  # (period start, group)


def _of_respondent(name: str) -> Callable[[Select[Any]], tuple[Select[Any], ColumnElement[Any]]]:
    def grouped(query: Select[Any]) -> tuple[Select[Any], ColumnElement[Any]]:
        r, p = survey_response.c, respondent.c
        on = and_(p.tenant_id == r.tenant_id, p.customer_id == r.customer_id)
        return query.outerjoin(respondent, on), p[name]

    return grouped


def _of_segment(query: Select[Any]) -> tuple[Select[Any], ColumnElement[Any]]:
    """An answer counts in every segment its customer is in now (and under no segment,
    the null group, if in none)."""
    r, m = survey_response.c, segment_member.c
    on = and_(m.tenant_id == r.tenant_id, m.customer_id == r.customer_id)
    return query.outerjoin(segment_member, on), m.segment_id


GROUPS: dict[str, Callable[[Select[Any]], tuple[Select[Any], ColumnElement[Any]]]] = {
    "channel": lambda query: (query, survey_response.c.channel),
    "stage": _of_respondent("stage"),
    "tier": _of_respondent("tier"),
    "value_class": _of_respondent("value_class"),
    "segment": _of_segment,
}


class TooManyPeriods(ValueError):
    """The window holds more periods than a series may."""


def periods_in(start: datetime, end: datetime, period: Period) -> int:
    """How many periods of ``period`` [start, end) touches (at least one)."""
    first, last = _start_of(start.date(), period), _start_of(end.date(), period)
    if period == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (last - first).days // (7 if period == "week" else 1) + 1


async def grouped_scores(
    engine: AsyncEngine,
    tenant_id: str,
    window: tuple[datetime, datetime],
    group_by: GroupBy | None,
    period: Period | None,
) -> dict[Cell, dict[str, domain.surveys.Figures]]:
    """The scores of each (period, group) with answers in the window."""
    start, end = window
    if period and periods_in(start, end, period) > MAX_PERIODS:
        raise TooManyPeriods(f"[from, to) holds more than {MAX_PERIODS} {period}s")
    r = survey_response.c
    day = cast(extract("epoch", r.responded_at), BigInteger) // 86400
    query = select(r.survey, r.score, func.count()).select_from(survey_response)
    key: ColumnElement[Any] | None = None
    if group_by:
        query, key = GROUPS[group_by](query)
    columns = [c for c in (day if period else None, key) if c is not None]
    query = (
        query.add_columns(*columns)
        .where(r.tenant_id == tenant_id, r.responded_at >= start, r.responded_at < end)
        .group_by(r.survey, r.score, *columns)
    )
    counts: dict[Cell, dict[tuple[str, int], int]] = defaultdict(dict)
    async with engine.connect() as conn:
        for survey, score, n, *rest in await conn.execute(query):
            cell = _cell(rest, period, key is not None)
            counts[cell][(survey, score)] = counts[cell].get((survey, score), 0) + n
    return {cell: domain.scores(found) for cell, found in counts.items()}


def _cell(rest: list[Any], period: Period | None, grouped: bool) -> Cell:
    values = iter(rest)
    at = _period_start(int(next(values)), period) if period else None
    group = next(values) if grouped else None
    return at, None if group is None else str(group)


def _period_start(day_number: int, period: Period) -> datetime:
    day = _start_of(EPOCH + timedelta(days=day_number), period)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _start_of(day: date, period: Period) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if period == "month" else day


def ordered(cells: Mapping[Cell, Any]) -> list[Cell]:
    """The cells by period, then group (the unknown group last)."""
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(cells, key=lambda c: (c[0] or far, c[1] is None, c[1] or ""))
