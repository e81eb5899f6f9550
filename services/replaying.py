"""A rule change tried on history, as ``python -m services.<name>.replay --rules FILE``
and the admin's replay job run it (issue 9, item 3).

The service's history (every event of its consumer groups, read from the topics
without a consumer group: no offset is committed, and the service may go on running)
is folded twice, each time into a fresh shadow database (``shared.shadow``) by the
service's own consumers and sweep on a clock replaying the events' times, exactly as
a rebuild folds (``shared.rebuild``): once under the rules in force, once under the
candidate. The outcomes of the two are compared (``shared.replay_diff``); comparing
with a refold rather than with the live state keeps the noise of time and delivery
order out of the difference. The live database is only read (the tenants' rules);
nothing is published (the shadows' outboxes are dropped with them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services import definition
from services.rebuilding import Sweep, plan
from shared import rebuild_topics
from shared.bus import Record
from shared.bus.memory import MemoryBus
from shared.clock import SystemClock
from shared.config import RuleFileError
from shared.db import create_engine
from shared.events.envelope import tenant_of_encoded
from shared.rebuild import Progress, ReplayClock, refold
from shared.replay_diff import Outcome, compare, rule_changes
from shared.rulebook import Rulebook
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.shadow import shadow_database
from shared.subscription import Subscription
from shared.uow import Database

Reader = Callable[[Subscription], Awaitable[Sequence[Record]]]
Measure = Callable[[AsyncConnection, str | None], Awaitable[Outcome]]


@dataclass(frozen=True)
class Replayable:
    """What a service tells the replay: its name, the kind of rules it applies, its
    sweep (time-based work at its due times) and how to measure its outcome in a
    database (of one tenant, or of all when None)."""

    name: str
    kind: str
    sweep: Sweep
    outcome: Measure
    rulebook_of: Callable[[Any], Rulebook[Any]] = lambda resources: resources
    """The rulebook among the service's resources (by default they are the rulebook)."""


@dataclass(frozen=True)
class Candidate:
    """The rules tried: a whole rule file's text, for ``tenant`` (None: in place of the
    installation's file, for every tenant without rules of its own)."""

    rules: str
    tenant: str | None


def reader_of(bus: object, settings: ServiceSettings, progress: Progress) -> Reader:
    """How the history is read: from the in-memory bus's logs (embedded), else from the
    topics, from offset 0 to their current ends, outside any consumer group."""
    if isinstance(bus, MemoryBus):

        async def logged(subscription: Subscription) -> Sequence[Record]:
            return [r for topic in subscription.topics for r in list(bus.logs[topic])]

        return logged

    async def topics(subscription: Subscription) -> Sequence[Record]:
        records, _ = await rebuild_topics.read(settings, subscription, progress)
        return records

    return topics


async def replay(
    spec: Replayable,
    live: Runtime[Any, Any],
    candidate: Candidate,
    read: Reader,
    progress: Progress,
) -> dict[str, Any]:
    """Fold the history under the rules in force and under ``candidate`` into two
    shadows; their difference, as the ``RulesDiff`` contract has it. ``RuleFileError``
    (before anything is folded) when the candidate does not validate."""
    book = spec.rulebook_of(live.resources)
    if candidate.tenant is None:
        copy.copy(book).try_installation(candidate.rules)  # validated, the live book untouched
    else:
        book.validate(candidate.tenant, candidate.rules)
    async with live.db.engine.connect() as conn:
        current = await book.in_force_text(conn, candidate.tenant)
    started = time.perf_counter()
    history: dict[str, Sequence[Record]] = {}
    progress("under the rules in force:")
    before = await _fold(spec, live, candidate, False, read, history, progress)
    progress("under the candidate rules:")
    after = await _fold(spec, live, candidate, True, read, history, progress)
    return {
        "kind": spec.kind,
        "tenant": candidate.tenant,
        "events": sum(len(found) for found in history.values()),
        "seconds": round(time.perf_counter() - started, 3),
        **compare(before, after, rule_changes(current, candidate.rules)),
    }


async def _fold(
    spec: Replayable,
    live: Runtime[Any, Any],
    candidate: Candidate,
    tried: bool,
    read: Reader,
    history: dict[str, Sequence[Record]],
    progress: Progress,
) -> Outcome:
    """Fold ``history`` (the candidate's tenant's; read first when empty) into a fresh
    shadow under the rules in force, with the candidate in place of its tenant's or the
    installation's when ``tried``; measure."""
    service = definition(spec.name)
    async with shadow_database(live.db.engine, spec.name) as engine:
        book = spec.rulebook_of(live.resources)
        await _copy_rules(live.db.engine, engine, book, candidate if tried else None)
        clock = ReplayClock(live.clock)
        runtime: Runtime[Any, Any] = Runtime(
            live.settings, clock, Database(engine, service.outbox, clock), MemoryBus(), None
        )
        assert service.resources is not None, f"{spec.name} applies no rules"
        async with contextlib.AsyncExitStack() as opened:
            runtime.resources = await opened.enter_async_context(service.resources(runtime))
            if tried and candidate.tenant is None:
                spec.rulebook_of(runtime.resources).try_installation(candidate.rules)
            work = plan(spec.name, runtime, (), spec.sweep)
            if not history:
                for group, consumer in work.consumers.items():
                    history[group] = _of_tenant(await read(consumer.subscription), candidate.tenant)
            await refold(work, history, progress)
            async with engine.connect() as conn:
                return await spec.outcome(conn, candidate.tenant)


def _of_tenant(records: Sequence[Record], tenant: str | None) -> Sequence[Record]:
    if tenant is None:
        return records
    return [r for r in records if tenant_of_encoded(r.value or b"") == tenant]


async def _copy_rules(
    live: AsyncEngine, shadow: AsyncEngine, book: Rulebook[Any], candidate: Candidate | None
) -> None:
    """The tenants' rules in force into the shadow; the candidate on top, as the
    newest version of its tenant."""
    table = book.table
    async with live.connect() as conn:
        rows = [dict(r._mapping) for r in await conn.execute(select(table))]
    if candidate is not None and candidate.tenant is not None:
        top = max((r["version"] for r in rows), default=0)
        rows.append(
            {"version": top + 1, "tenant_id": candidate.tenant, "rules": candidate.rules,
             "created_at": SystemClock().now(), "created_by": "replay"}
        )  # fmt: skip
    if rows:
        async with shadow.begin() as conn:
            await conn.execute(table.insert(), rows)


async def _cli(spec: Replayable, rules: str, tenant: str | None) -> dict[str, Any]:
    service = definition(spec.name)
    settings = service.settings(service=spec.name)
    clock = SystemClock()
    engine = create_engine(settings.db_url)
    live: Runtime[Any, Any] = Runtime(
        settings, clock, Database(engine, service.outbox, clock), MemoryBus(), None
    )
    try:
        assert service.resources is not None
        async with service.resources(live) as book:
            live.resources = book
            read = reader_of(None, settings, _to_stderr)
            return await replay(spec, live, Candidate(rules, tenant), read, _to_stderr)
    finally:
        await engine.dispose()


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def main(spec: Replayable) -> None:
    """``python -m services.<name>.replay --rules FILE [--tenant T]``: the difference as
    JSON on stdout, progress and a summary on stderr."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{spec.name}.replay")
    parser.add_argument(
        "--rules", type=Path, required=True, help=f"the candidate {spec.kind} rules"
    )
    parser.add_argument(
        "--tenant", help="try them for this tenant (default: as the installation's)"
    )
    arguments = parser.parse_args()
    try:
        rules = arguments.rules.read_text(encoding="utf-8")
        diff = asyncio.run(_cli(spec, rules, arguments.tenant))
    except (RuleFileError, OSError) as failure:
        raise SystemExit(f"not replayed: {failure}") from None
    for line in summary(diff):
        _to_stderr(line)
    print(json.dumps(diff, indent=2, default=str, ensure_ascii=False))


def summary(diff: dict[str, Any]) -> list[str]:
    """The difference in a few lines for a person."""
    lines = [
        f"{diff['kind']} replayed over {diff['events']:,} events in {diff['seconds']} s: "
        f"{diff['customers_changed']:,} of {diff['customers']:,} customers differ",
        *(f"  rule {change}" for change in diff["rules_changed"]),
    ]
    for measure, keys in diff["counts"].items():
        moved = [f"{k} {v['before']}→{v['after']}" for k, v in keys.items()]
        lines.append(f"  {measure}: {', '.join(moved) or '(none)'}")
    lines += [f"  {c['customer_id']}: {c['why']}" for c in diff["sample"]]
    return lines
