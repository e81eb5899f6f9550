"""Folding a service's state again from its topics, with time-based work at its due times.

A rebuild (``python -m services.<name>.rebuild``) throws the state a service folds from
the topics away and applies every event of its consumer groups again, from offset 0 to
where the topics end now, through the service's own consumers (decoding, inbox,
handlers): the same code that built the state builds it again. Events go in event-time
order, a chunk at a time (at most ``CHUNK`` events, within a service's tick of time):
before each chunk the clock stands at the chunk's first event and the service's sweep
runs, then at its last while the chunk is applied, so a
silence, a lot's expiry or an SLA breach fires at its due time between the events, as
it did when they arrived live; the sweep runs once more at the real now at the end.

Nothing is published: what the handlers put in the outbox during the rebuild was
announced the first time and is deleted with the rebuild's last transaction. The
service must be stopped (``RebuildRefused`` otherwise): its consumers would race the
rebuild and overwrite the offsets it sets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, delete, func, select

from shared.bus import Record
from shared.clock import Clock
from shared.consumer import Consumer
from shared.events import DecodeError, decode
from shared.uow import Database

Progress = Callable[[str], None]
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
    # The longest span of event time a chunk covers (None: ``CHUNK`` events, whatever
    # their times): a service whose sweep stamps its own now on what it does (an
    # invitation's sending) needs one near its periodic sweep's; one whose due work
    # happens at its due time, whenever the sweep runs, does not.
    tick: timedelta | None = None


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
    for chunk in _chunks(timeline, rebuild.tick):
        start += len(chunk)
        rebuild.clock.move_to(chunk[0][0])
        await rebuild.sweep()
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


def _chunks(
    timeline: list[tuple[datetime, str, Record]], tick: timedelta | None
) -> Iterator[list[tuple[datetime, str, Record]]]:
    """At most ``CHUNK`` events, within ``tick`` of event time of the first (if any): so
    the sweep runs at least once a tick of the history, as the service's periodic sweep
    would."""
    chunk: list[tuple[datetime, str, Record]] = []
    for item in timeline:
        late = bool(chunk) and tick is not None and item[0] - chunk[0][0] >= tick
        if len(chunk) == CHUNK or late:
            yield chunk
            chunk = []
        chunk.append(item)
    if chunk:
        yield chunk


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
