"""Time-based transitions: which timers a customer's stage runs, and when they fire.

The stage file decides, not the code: a stage runs the silence timer when some
rule leaves it on ``silence_due``, the churn timer when some rule leaves it on
``churn_due``. A business that adds ``silence_due`` from ``lead`` gets leads who
go silent, with no code to change. The silence clock starts at the last paid
purchase or, for a customer who never bought, when they entered their stage.
"""

from __future__ import annotations

from datetime import datetime

from services.lifecycle.domain.config import Trigger
from services.lifecycle.domain.rfm import Rfm, churn_due, silence_due
from services.lifecycle.domain.stages import CustomerState, StageMachine

Timer = tuple[str, datetime]  # its kind (silence, churn) and when it is due

TRIGGER_OF: dict[str, Trigger] = {"silence": "silence_due", "churn": "churn_due"}


def next_timer(machine: StageMachine, state: CustomerState, stats: Rfm) -> Timer | None:
    """The customer's next time-based transition: the earliest timer a configured rule
    takes from their stage, or None when no rule leaves it by time."""
    if state.stage is None:
        return None
    silence, since = machine.config.silence, state.stage_since
    timers: list[Timer] = []
    if machine.has_rule(state.stage, "silence_due"):
        due = silence_due(stats, silence, quiet_since=since)
        if due:
            timers.append(("silence", due))
    if machine.has_rule(state.stage, "churn_due"):
        due = churn_due(stats, silence, quiet_since=since)
        if due:
            # Never before the stage began: a customer silent since today churns later.
            timers.append(("churn", max(due, since or due)))
    return min(timers, key=lambda timer: timer[1], default=None)
