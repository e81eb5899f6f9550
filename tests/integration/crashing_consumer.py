"""A kernel consumer process that dies between its database commit and its offset commit.

    python -m tests.integration.crashing_consumer DATABASE_URL SERVERS PREFIX GROUP KEY

It runs ``Consumer.run()`` on real PostgreSQL and Kafka with the counting handler.
When it is about to commit the offsets of a batch holding a message under ``KEY``
(the database transaction of that batch has committed by then), it prints
``db-committed`` on stderr and hangs until the test kills it with SIGKILL.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from shared.bus import Record, Subscriber
from shared.bus.kafka import KafkaBus
from shared.clock import SystemClock
from shared.consumer import Consumer
from shared.db import create_engine
from shared.uow import Database
from tests.integration.harness import INBOX, OUTBOX, SERVICE, counting


class HangsBeforeCommitting:
    """A real subscriber, except that it never commits a batch holding ``key``."""

    def __init__(self, subscriber: Subscriber, key: bytes) -> None:
        self._subscriber, self._key = subscriber, key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._subscriber, name)

    async def commit(self, records: Sequence[Record]) -> None:
        if any(r.key == self._key for r in records):
            print("db-committed", file=sys.stderr, flush=True)
            await asyncio.Event().wait()
        await self._subscriber.commit(records)


class DyingBus(KafkaBus):
    def __init__(self, servers: str, prefix: str, key: str) -> None:
        super().__init__(servers, "crm-it-crashing-consumer", topic_prefix=prefix)
        self._key = key.encode()

    def subscriber(self, group: str, topics: Sequence[str]) -> Any:
        return HangsBeforeCommitting(super().subscriber(group, topics), self._key)


async def main(arguments: argparse.Namespace) -> None:
    bus = DyingBus(arguments.servers, arguments.prefix, arguments.key)
    await bus.start()
    db = Database(create_engine(arguments.database_url), OUTBOX, SystemClock())
    consumer = Consumer(counting(arguments.group), service=SERVICE, bus=bus, db=db, inbox=INBOX)
    await consumer.run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("database_url", "servers", "prefix", "group", "key"):
        parser.add_argument(name)
    asyncio.run(main(parser.parse_args()))
