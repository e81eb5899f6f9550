"""Feedback's analytics routes: channels (``channels`` says why feedback answers it) and
complaints by category, severity or channel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from services.feedback import channels, complaint_stats, sheets
from services.feedback.settings import FeedbackSettings
from shared.contracts.analytics import ChannelAnalytics, ComplaintAnalytics
from shared.contracts.feedback import WindowEnd, WindowStart
from shared.problems import Problem
from shared.runtime import Runtime, TenantDep, get_runtime
from shared.tabular import wants_csv

RuntimeDep = Annotated[Runtime[FeedbackSettings, None], Depends(get_runtime)]
router = APIRouter(prefix="/v1", tags=["analytics"])
MAX_DAYS = 731


@router.get("/analytics/channels", response_model=ChannelAnalytics)
async def get_channels(
    runtime: RuntimeDep,
    tenant: TenantDep,
    request: Request,
    start: WindowStart = None,
    end: WindowEnd = None,
) -> ChannelAnalytics | Response:
    """Per channel in [from, to) (default: the last 30 days, at most two years): customers,
    orders, revenue and average order per currency, complaints and the complaint rate,
    NPS with its interval, and the share of customers who prefer it. CSV with ``Accept:
    text/csv``."""
    start, end = _window(runtime, start, end)
    found = await channels.channel_figures(runtime.db.engine, tenant, (start, end))
    answer = ChannelAnalytics.model_validate({"from_": start, "to": end, "channels": found})
    return sheets.channels(answer) if wants_csv(request) else answer


ComplaintGroupBy = Annotated[
    complaint_stats.ComplaintGroupBy, Query(description="category, severity or channel")
]


@router.get("/analytics/complaints", response_model=ComplaintAnalytics)
async def get_complaints(
    runtime: RuntimeDep,
    tenant: TenantDep,
    request: Request,
    start: WindowStart = None,
    end: WindowEnd = None,
    group_by: ComplaintGroupBy = "category",
) -> ComplaintAnalytics | Response:
    """The complaints opened in [from, to) (default: the last 30 days, at most two years)
    per category, severity or channel: how many, resolved, SLA met and missed, attainment
    with its 95 % interval, median resolution time. CSV with ``Accept: text/csv``."""
    start, end = _window(runtime, start, end)
    found = await complaint_stats.complaint_figures(
        runtime.db.engine, tenant, (start, end), group_by, runtime.clock.now()
    )
    answer = ComplaintAnalytics.model_validate(
        {"from_": start, "to": end, "group_by": group_by, "groups": found}, from_attributes=True
    )
    return sheets.complaints(answer) if wants_csv(request) else answer


def _window(
    runtime: Runtime[FeedbackSettings, None], start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """[from, to) with its defaults, 422 when reversed or longer than ``MAX_DAYS``."""
    end = end or runtime.clock.now()
    start = start or end - channels.DEFAULT_WINDOW
    if start > end:
        raise Problem(422, "invalid-window", "'from' must not be after 'to'.")
    if (end - start).days > MAX_DAYS:
        raise Problem(
            422, "window-too-long", f"[from, to) spans more than {MAX_DAYS} days; narrow it."
        )
    return start, end
