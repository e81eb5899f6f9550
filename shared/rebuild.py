"""Folding a service's state again from its topics, with time-based work at its due times.

A rebuild (``python -m services.<name>.rebuild``) throws the state a service folds from
the topics away and applies every event of its consumer groups again, from offset 0 to
where the topics end now, through the service's own consumers (decoding, inbox,
handlers): the same code that built the state builds it again. Events go in event-time
order, a chunk at a time (at most ``CHUNK`` events): before each chunk the clock stands
at the chunk's first event and the service's sweep runs, then at its last while the
chunk is applied, so a silence, a lot's expiry or an SLA breach fires at its due time
between the events, as it did when they arrived live; the sweep runs once more at the
real now at the end. The sweeps do each piece at its due time however late they run;
a service whose due work depends on what a customer does next (feedback: an invitation
is gated on the customer's consent and complaints then) also says when each customer's
next work falls due (``Refold.due``), and a chunk ends before a customer's event that
comes after it, or after their earlier event in the chunk (which may have scheduled
some): so the sweep runs only where a customer needs it, not every hour of history.

Nothing is published: what the handlers put in the outbox during the rebuild was
announced the first time and is deleted with the rebuild's last transaction. The
service must be stopped (``RebuildRefused`` otherwise): its consumers would race the
rebuild and overwrite the offsets it sets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, delete, func, select

from shared.bus import Record
from shared.clock import Clock
from shared.consumer import Consumer
from shared.events import DecodeError, decode
from shared.uow import Database

Progress = Callable[[str], None]
Key = bytes | None
Due = Callable[[set[Key]], Awaitable[dict[Key, datetime]]]
Timeline = list[tuple[datetime, str, Record]]
CHUNK = 500


class RebuildRefused(RuntimeError):
    """The service's consumers run: stop the service first."""


class ReplayClock:
    """The rebuild's clock: at each chunk's event time while replaying, then at the real
    now (``release``)."""

    def __init__(self, real: Clock) -> None:
        self._real = real
        self._at: datetime | None = None

    def now(self) -> datetime:
        return self._at if self._at is not None else self._real.now()

    def move_to(self, at: datetime) -> None:
        self._at = at

    def release(self) -> None:
        self._at = None


@dataclass(frozen=True)
class Refold:
    """What a rebuild of one service works with: its database, its consumers (by group),
    the tables it folds (cleared first, in order: children before parents), its outbox,
    inbox and sweep, and the clock those run on."""

    db: Database
    consumers: dict[str, Consumer]
    cleared: Sequence[Table]
    outbox: Table
    inbox: Table
    sweep: Callable[[], Awaitable[object]]
    clock: ReplayClock
    # When each of these customers' (Kafka keys') next due work falls, for those with
    # some (None: ``CHUNK`` events, whatever their times and customers): a service whose
    # due work is decided on what its customer did up to then needs it (``_chunk``).
    due: Due | None = None


async def refold(rebuild: Refold, records: dict[str, Sequence[Record]], progress: Progress) -> int:
    """Clear the folded tables and apply ``records`` (by consumer group) again; the
    number of events applied (those of types their group applies)."""
    async with rebuild.db.engine.begin() as conn:
        first = await conn.scalar(select(func.coalesce(func.max(rebuild.outbox.c.id), 0)))
        for table in rebuild.cleared:
            await conn.execute(delete(table))
        groups = list(rebuild.consumers)
        await conn.execute(delete(rebuild.inbox).where(rebuild.inbox.c.consumer.in_(groups)))
    timeline = _in_event_time(records, rebuild.consumers)
    total, start = len(timeline), 0
    while start < total:
        rebuild.clock.move_to(timeline[start][0])
        await rebuild.sweep()
        chunk = await _chunk(timeline[start : start + CHUNK], rebuild.due)
        start += len(chunk)
        rebuild.clock.move_to(chunk[-1][0])  # the chunk has arrived by its latest event
        for layer in _layers(chunk):
            for group in groups:
                mine = [record for _, g, record in layer if g == group]
                if mine:
                    await rebuild.consumers[group].process(mine)
        progress(f"{start:,} of {total:,} events ({_share(start, total)})")
    rebuild.clock.release()
    await rebuild.sweep()
    async with rebuild.db.engine.begin() as conn:  # announced the first time already
        await conn.execute(delete(rebuild.outbox).where(rebuild.outbox.c.id > first))
    return total


def _in_event_time(
    records: dict[str, Sequence[Record]], consumers: dict[str, Consumer]
) -> list[tuple[datetime, str, Record]]:
    """Every record its group applies, with its event time and group, oldest first
    (another type on the group's topics, which its consumer would skip, is left out,
    and its time brings no sweep); a record that does not decode keeps its place at the
    start (its consumer dead-letters it again)."""
    timeline: list[tuple[datetime, str, Record]] = []
    for group, found in records.items():
        applied = {t.rsplit(".", 1)[0] for t in consumers[group].subscription.types}
        for record in found:
            at, kind = _time(record)
            if kind is None or kind.rsplit(".", 1)[0] in applied:
                timeline.append((at, group, record))
    timeline.sort(key=lambda item: (item[0], item[2].topic, item[2].partition, item[2].offset))
    return timeline


async def _chunk(window: Timeline, due: Due | None) -> Timeline:
    """The next chunk: ``window`` (at most ``CHUNK`` events, the first at the clock,
    swept), or, with ``due``, its events before the first of a customer whose due work
    falls before it or who has an earlier event in the chunk: that work must be done
    (the sweep run) before the customer's next event is applied, as it was live."""
    if due is None:
        return window
    falls = await due({record.key for _, _, record in window})
    first: dict[Key, datetime] = {}
    for at, (when, _, record) in enumerate(window):
        seen = first.setdefault(record.key, when)
        if at and (seen < when or (record.key in falls and falls[record.key] <= when)):
            return window[:at]
    return window


def _layers(
    chunk: list[tuple[datetime, str, Record]],
) -> list[list[tuple[datetime, str, Record]]]:
    """The chunk in layers, so one customer's events across groups (a silence, then the
    purchase that takes up the offer it brought) still apply in event time while each
    group takes a layer's records as one batch: a customer's event goes one layer up
    from their previous one when it goes to another group. Customers' events are
    ordered against each other no more than Kafka orders them (per key), so a layer
    holds every customer's next run of one group's events, and a chunk has as many
    layers as its busiest customer changes group, not as many as customers do."""
    layers: list[list[tuple[datetime, str, Record]]] = []
    last: dict[bytes | None, tuple[int, str]] = {}
    for item in chunk:
        _, group, record = item
        layer, was = last.get(record.key, (0, group))
        layer += was != group
        last[record.key] = (layer, group)
        if layer == len(layers):
            layers.append([])
        layers[layer].append(item)
    return layers


def _time(record: Record) -> tuple[datetime, str | None]:
    """The record's event time and type (None: it does not decode)."""
    try:
        found = decode(record.value or b"")
    except DecodeError:
        return datetime.min.replace(tzinfo=UTC), None
    return found.time, found.type


def _share(done: int, total: int) -> str:
    return f"{min(100, round(100 * done / max(total, 1)))} %"
