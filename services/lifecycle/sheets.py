"""Lifecycle's analytics answers as one table each, for ``Accept: text/csv``
(``shared.tabular``): the same figures as the JSON, one row per figure."""

from __future__ import annotations

from fastapi import Response

from services.lifecycle.analytics import FUNNEL
from shared.contracts.lifecycle import Cohorts, Funnel, FunnelConversion, ValueClasses, Winbacks
from shared.tabular import csv_answer


def funnel(answer: Funnel) -> Response:
    rows = [(answer.as_of, stage, n) for stage, n in answer.stages.items()]
    return csv_answer(("as_of", "stage", "customers"), rows)


def conversion(answer: FunnelConversion) -> Response:
    """One row per stage: its conversion to the next funnel stage and its median stay."""
    onward = {c.from_stage: c for c in answer.conversions}
    rows = []
    for t in answer.time_in_stage:
        c = onward.get(t.stage)
        rows.append(
            (
                answer.from_,
                answer.to,
                t.stage,
                c.to_stage if c else None,
                c.entered if c else None,
                c.converted if c else None,
                c.rate if c else None,
                t.stays,
                t.median_days,
            )
        )
    header = ("from", "to", "stage", "next_stage", "entered", "converted", "rate", "stays",
              "median_days")  # fmt: skip
    return csv_answer(header, sorted(rows, key=lambda r: _funnel_order(str(r[2]))))


def _funnel_order(stage: str) -> int:
    return FUNNEL.index(stage) if stage in FUNNEL else len(FUNNEL)


def cohorts(answer: Cohorts) -> Response:
    """Long form: one row per cohort and month since its first purchase."""
    rows = [
        (c.month, c.customers, offset, active, retention)
        for c in answer.cohorts
        for offset, (active, retention) in enumerate(zip(c.active, c.retention, strict=True))
    ]
    return csv_answer(("cohort", "customers", "month", "active", "retention"), rows)


def value_classes(answer: ValueClasses) -> Response:
    rows = [
        (answer.as_of, f.currency, f.name, f.customers, f.clv_minor, f.share_of_value,
         f.floor_minor)
        for f in answer.classes
    ]  # fmt: skip
    header = ("as_of", "currency", "class", "customers", "clv_minor", "share_of_value",
              "floor_minor")  # fmt: skip
    return csv_answer(header, rows)


def winbacks(answer: Winbacks) -> Response:
    """One row per currency of the revenue since (one without a currency if none)."""
    head = (answer.from_, answer.to, answer.customers, answer.winbacks)
    revenue: list[tuple[object, ...]] = [
        (r.currency, r.customers, r.revenue_minor) for r in answer.revenue_since
    ]
    rows = [(*head, *r) for r in revenue or [(None, None, None)]]
    header = ("from", "to", "customers", "winbacks", "currency", "buying_customers",
              "revenue_minor")  # fmt: skip
    return csv_answer(header, rows)
