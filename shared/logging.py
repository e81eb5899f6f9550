"""Structured logging through structlog: JSON for operators, console for people.

Every logger of the process writes the same way: structlog's own and the standard
library's (uvicorn, SQLAlchemy, aiokafka, alembic, warnings), through one handler on
the root logger, so ``CRM_LOG_FORMAT=json`` gives one JSON object a line whoever logs.
Each line carries what is bound for its context: the request id of the request it
belongs to (``shared.requestid``), and the trace and span ids when tracing is on.
(uvicorn must leave logging alone for this: ``python -m services`` runs it with
``log_config=None``.)
"""

from __future__ import annotations

import logging
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

from shared import tracing


def _trace_ids(_: Any, __: str, event: EventDict) -> EventDict:
    event.update(tracing.trace_ids())
    return event


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Set up structlog and the standard library's root logger once per process."""
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    common: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _trace_ids,
    ]
    structlog.configure(
        processors=[*common, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*common, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    for noisy in ("aiokafka", "httpx", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
