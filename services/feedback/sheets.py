"""Feedback's analytics answers as one table each, for ``Accept: text/csv``
(``shared.tabular``): one row per figure, with its answers and 95 % interval."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Response

from shared.contracts.analytics import ChannelAnalytics, ComplaintAnalytics
from shared.contracts.feedback import Ces, Csat, Interval, Nps, Scores
from shared.tabular import csv_answer

Row = tuple[object, ...]
HEADER = ("from", "to", "group_by", "group", "period", "survey", "figure", "value",
          "responses", "ci_low", "ci_high")  # fmt: skip
CHANNEL_HEADER = ("from", "to", "channel", "customers", "orders", "currency", "currency_orders",
                  "revenue_minor", "average_order_minor", "complaints", "complaint_rate", "nps",
                  "nps_responses", "nps_ci_low", "nps_ci_high", "preferred_by",
                  "preferred_share")  # fmt: skip


def scores(answer: Scores) -> Response:
    """The window's figures (group and period empty), then each group's and period's."""
    head = (answer.from_, answer.to)
    rows = [(*head, None, None, None, *r) for r in _figures(answer.nps, answer.csat, answer.ces)]
    for g in answer.groups or []:
        rows += [(*head, answer.group_by, g.group, g.period, *r)
                 for r in _figures(g.nps, g.csat, g.ces)]  # fmt: skip
    return csv_answer(HEADER, rows)


def _figures(nps: Nps, csat: Csat, ces: Ces) -> Iterator[Row]:
    yield ("nps", "score", nps.score, nps.responses, *_bounds(nps.interval))
    yield ("csat", "average", csat.average, csat.responses, *_bounds(csat.average_interval))
    yield ("csat", "satisfied_pct", csat.satisfied_pct, csat.responses,
           *_bounds(csat.satisfied_interval))  # fmt: skip
    yield ("ces", "average", ces.average, ces.responses, *_bounds(ces.interval))


def _bounds(interval: Interval | None) -> tuple[float | None, float | None]:
    return (interval.low, interval.high) if interval else (None, None)


def channels(answer: ChannelAnalytics) -> Response:
    """One row per channel and currency (one without a currency for a channel nobody
    bought through)."""
    rows: list[Row] = []
    for c in answer.channels:
        head = (answer.from_, answer.to, c.channel, c.customers, c.orders)
        tail = (c.complaints, c.complaint_rate, c.nps.score, c.nps.responses,
                *_bounds(c.nps.interval), c.preferred_by, c.preferred_share)  # fmt: skip
        money: list[Row] = [
            (r.currency, r.orders, r.revenue_minor, r.average_order_minor) for r in c.revenue
        ]
        rows += [(*head, *m, *tail) for m in money or [(None, None, None, None)]]
    return csv_answer(CHANNEL_HEADER, rows)


def complaints(answer: ComplaintAnalytics) -> Response:
    """One row per group."""
    rows = [
        (answer.from_, answer.to, answer.group_by, g.group, g.opened, g.resolved, g.sla_met,
         g.sla_missed, g.sla_attainment_pct, *_bounds(g.sla_interval),
         g.median_resolution_hours)
        for g in answer.groups
    ]  # fmt: skip
    header = ("from", "to", "group_by", "group", "opened", "resolved", "sla_met", "sla_missed",
              "sla_attainment_pct", "sla_ci_low", "sla_ci_high",
              "median_resolution_hours")  # fmt: skip
    return csv_answer(header, rows)
