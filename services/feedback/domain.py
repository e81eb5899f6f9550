"""Feedback's rules: SLA targets per complaint severity, NPS buckets. Plain Python."""

from __future__ import annotations

from datetime import datetime, timedelta

SLA_HOURS = {"critical": 4, "high": 24, "medium": 48, "low": 72}


def sla_due(severity: str, opened_at: datetime) -> datetime:
    """When a complaint of this severity must be resolved."""
    return opened_at + timedelta(hours=SLA_HOURS[severity])


def nps_category(score: int) -> str:
    """Promoter 9–10, passive 7–8, detractor 0–6."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"
