"""Create the platform's Kafka topics on the local broker and verify them.

Run from the repo root with the repo's virtualenv:

    .venv/bin/python deploy/local/topics.py [--timeout SECONDS]

Bootstraps from CRM_KAFKA_BOOTSTRAP, else 127.0.0.1:${CRM_KAFKA_PORT:-59092}.
Waits (bounded) until the broker answers metadata, creates every topic of
shared.topics.PARTITIONS that is missing (replication factor 1: one broker),
then checks each topic's partition count. Exit status 0 only if all match.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

# The script lives in deploy/local/; `shared` is a top-level package of the repo.
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType  # noqa: E402
from aiokafka.errors import KafkaError, for_code  # noqa: E402

from shared.topics import PARTITIONS  # noqa: E402

TOPIC_ALREADY_EXISTS = 36
# Events are kept forever: read models (the customer 360) are rebuilt from them.
TOPIC_CONFIG = {"retention.ms": "-1"}


def bootstrap() -> str:
    default = f"127.0.0.1:{os.environ.get('CRM_KAFKA_PORT', '59092')}"
    return os.environ.get("CRM_KAFKA_BOOTSTRAP", default)


def fail(message: str) -> NoReturn:
    print(f"[topics] ERROR: {message}", file=sys.stderr)
    sys.exit(1)


async def connect(servers: str, deadline: float) -> AIOKafkaAdminClient:
    """Start an admin client, retrying until the broker answers metadata."""
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=10_000)
        try:
            await admin.start()
            await admin.describe_cluster()
            return admin
        except (KafkaError, OSError) as exc:  # TimeoutError is an OSError
            last_error = exc
            await admin.close()
            await asyncio.sleep(1)
    fail(f"no Kafka broker answered on {servers} in time (last error: {last_error!r})")


async def partition_counts(admin: AIOKafkaAdminClient, wanted: dict[str, int]) -> dict[str, int]:
    """Partition count of each of our topics the broker knows without error."""
    counts = {}
    for topic in await admin.describe_topics(list(wanted)):
        if topic["error_code"] == 0:
            counts[topic["topic"]] = len(topic["partitions"])
    return counts


async def create_missing(
    admin: AIOKafkaAdminClient, wanted: dict[str, int], existing: dict[str, int]
) -> None:
    missing = [name for name in wanted if name not in existing]
    if not missing:
        return
    print(f"[topics] creating {', '.join(missing)}")
    response = await admin.create_topics(
        [
            NewTopic(name, wanted[name], replication_factor=1, topic_configs=TOPIC_CONFIG)
            for name in missing
        ]
    )
    for result in response.to_object()["topic_errors"]:
        code = result["error_code"]
        if code not in (0, TOPIC_ALREADY_EXISTS):  # a concurrent run may have won
            fail(
                f"creating {result['topic']} failed: {for_code(code).__name__} "
                f"{result.get('error_message') or ''}".rstrip()
            )


async def keep_forever(admin: AIOKafkaAdminClient, wanted: dict[str, int]) -> None:
    """Topics made before retention was set get it now (altering is idempotent)."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, name, TOPIC_CONFIG) for name in wanted]
    for response in await admin.alter_configs(resources):
        for code, _message, _type, name in response.resources:
            if code != 0:
                fail(f"setting retention on {name} failed: {for_code(code).__name__}")


async def verify(admin: AIOKafkaAdminClient, wanted: dict[str, int], deadline: float) -> None:
    """New topics take a moment to show up in metadata: poll until they do."""
    while True:
        counts = await partition_counts(admin, wanted)
        wrong = [
            f"{name} has {counts[name]} partitions, wants {want}"
            for name, want in wanted.items()
            if counts.get(name, want) != want
        ]
        if wrong:  # Kafka cannot shrink a topic, and we do not grow one silently
            fail("; ".join(wrong) + " (delete the topic or wipe the Kafka data dir)")
        absent = [name for name in wanted if name not in counts]
        if not absent:
            return
        if time.monotonic() >= deadline:
            fail(f"topics still missing from metadata: {', '.join(absent)}")
        await asyncio.sleep(0.5)


async def warm_group_coordinator(admin: AIOKafkaAdminClient, deadline: float) -> None:
    """Have the broker create __consumer_offsets now, so that the first consumer
    group of a test does not wait for it (and log GroupCoordinatorNotAvailable)."""
    while True:
        try:
            await admin.find_coordinator("crm-local-warmup")
            return
        except KafkaError as exc:
            if time.monotonic() >= deadline:
                fail(f"the group coordinator is not available: {exc!r}")
            await asyncio.sleep(0.5)


async def main(wait_s: float, prefix: str) -> None:
    # aiokafka logs every refused connection while we wait; we report ourselves.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    servers = bootstrap()
    deadline = time.monotonic() + wait_s
    wanted = {prefix + name: count for name, count in PARTITIONS.items()}
    admin = await connect(servers, deadline)
    try:
        await create_missing(admin, wanted, await partition_counts(admin, wanted))
        await verify(admin, wanted, max(deadline, time.monotonic() + 10))
        await keep_forever(admin, wanted)
        await warm_group_coordinator(admin, max(deadline, time.monotonic() + 10))
    finally:
        await admin.close()
    summary = ", ".join(f"{name}={count}" for name, count in wanted.items())
    print(f"[topics] ok on {servers}: {summary}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the broker (default 60)"
    )
    parser.add_argument(
        "--prefix", default="", help="namespace the topics (CRM_TOPIC_PREFIX), e.g. for tests"
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.timeout, arguments.prefix))
