"""Feedback's channel analytics route (``channels`` says why feedback answers it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.feedback import channels, sheets
from services.feedback.settings import FeedbackSettings
from shared.contracts.analytics import ChannelAnalytics
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
    end = end or runtime.clock.now()
    start = start or end - channels.DEFAULT_WINDOW
    if start > end:
        raise Problem(422, "invalid-window", "'from' must not be after 'to'.")
    if (end - start).days > MAX_DAYS:
        raise Problem(
            422, "window-too-long", f"[from, to) spans more than {MAX_DAYS} days; narrow it."
        )
    found = await channels.channel_figures(runtime.db.engine, tenant, (start, end))
    answer = ChannelAnalytics.model_validate({"from_": start, "to": end, "channels": found})
    return sheets.channels(answer) if wants_csv(request) else answer
