"""Create the platform's Kafka topics and bring their settings in line.

One command for every installation: the local scripts (``make infra``), docker compose
and the Kubernetes Job all run

    python -m shared.topics_admin create [--replication-factor N] [--min-insync-replicas N]
                                         [--retention-ms MS] [--prefix P] [--timeout S]

It connects with the ``CRM_KAFKA_*`` settings (bootstrap servers, SASL, TLS), waits
(bounded) until the broker answers, creates every topic of ``shared.topics.PARTITIONS``
that is missing, checks each topic's partition count (Kafka cannot shrink a topic, and
we do not grow one silently: partitions are the unit of scale and of ordering), then
sets ``retention.ms``, ``max.message.bytes`` and ``min.insync.replicas`` on every topic
with an incremental alter (only those keys: an operator's other settings stay). Flags
default to the ``CRM_TOPIC_*`` settings. Exit status 0 only if everything matches.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from typing import NoReturn

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResourceType
from aiokafka.errors import KafkaError, for_code
from pydantic import Field, ValidationError, model_validator

from shared.bus import MAX_MESSAGE_BYTES
from shared.bus.alter_configs import SET, IncrementalAlterConfigs
from shared.bus.security import client_options
from shared.settings import ServiceSettings
from shared.topics import PARTITIONS

TOPIC_ALREADY_EXISTS = 36


class TopicSettings(ServiceSettings):
    """How the topics are made; read by this command only."""

    topic_replication_factor: int = Field(1, ge=1, le=15)
    """Replicas of each partition of a topic this command creates (1 for a single broker,
    3 for a production cluster); existing topics keep theirs."""
    topic_min_insync_replicas: int | None = Field(None, ge=1, le=15)
    """``min.insync.replicas`` of every topic: replicas that must have a record before the
    producers (acks=all) hear it is written; 2 with 3 replicas. Unset: the broker's."""
    topic_retention_ms: int = Field(-1, ge=-1)
    """``retention.ms`` of every topic; -1 keeps events forever, which the customer 360's
    rebuild from the topics needs."""

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> TopicSettings:
        if (self.topic_min_insync_replicas or 0) > self.topic_replication_factor:
            raise ValueError("min.insync.replicas cannot exceed the replication factor")
        return self

    def topic_config(self) -> dict[str, str]:
        config = {
            "retention.ms": str(self.topic_retention_ms),
            # The largest record batch a topic takes, said explicitly (not the broker's
            # default): the producers' max_request_size is the same number (shared.bus).
            "max.message.bytes": str(MAX_MESSAGE_BYTES),
        }
        if self.topic_min_insync_replicas is not None:
            config["min.insync.replicas"] = str(self.topic_min_insync_replicas)
        return config


def fail(message: str) -> NoReturn:
    print(f"[topics] ERROR: {message}", file=sys.stderr)
    sys.exit(1)


async def connect(settings: TopicSettings, deadline: float) -> AIOKafkaAdminClient:
    """Start an admin client, retrying until the broker answers metadata."""
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=settings.kafka_servers,
            request_timeout_ms=10_000,
            **client_options(settings),
        )
        try:
            await admin.start()
            await admin.describe_cluster()
            return admin
        except (KafkaError, OSError) as exc:  # TimeoutError is an OSError
            last_error = exc
            await admin.close()
            await asyncio.sleep(1)
    fail(f"no Kafka broker answered on {settings.kafka_servers} in time (last: {last_error!r})")


async def describe(admin: AIOKafkaAdminClient, wanted: dict[str, int]) -> dict[str, list[int]]:
    """Replica count of each partition of each of our topics the broker knows."""
    known = {}
    for topic in await admin.describe_topics(list(wanted)):
        if topic["error_code"] == 0:
            known[topic["topic"]] = [len(p["replicas"]) for p in topic["partitions"]]
    return known


async def create_missing(
    admin: AIOKafkaAdminClient, wanted: dict[str, int], settings: TopicSettings
) -> None:
    missing = [name for name in wanted if name not in await describe(admin, wanted)]
    if not missing:
        return
    factor = settings.topic_replication_factor
    print(f"[topics] creating {', '.join(missing)} (replication factor {factor})")
    config = settings.topic_config()
    response = await admin.create_topics(
        [NewTopic(name, wanted[name], factor, topic_configs=config) for name in missing]
    )
    for result in response.to_object()["topic_errors"]:
        code = result["error_code"]
        if code not in (0, TOPIC_ALREADY_EXISTS):  # a concurrent run may have won
            fail(
                f"creating {result['topic']} failed: {for_code(code).__name__} "
                f"{result.get('error_message') or ''}".rstrip()
            )


async def verify(
    admin: AIOKafkaAdminClient, wanted: dict[str, int], factor: int, deadline: float
) -> None:
    """New topics take a moment to show up in metadata: poll until they do."""
    while True:
        known = await describe(admin, wanted)
        wrong = [
            f"{name} has {len(known[name])} partitions, wants {want}"
            for name, want in wanted.items()
            if name in known and len(known[name]) != want
        ]
        if wrong:
            fail("; ".join(wrong) + " (delete the topic or wipe the Kafka data dir)")
        absent = [name for name in wanted if name not in known]
        if not absent:
            for name, replicas in known.items():
                if min(replicas) != factor:
                    print(f"[topics] note: {name} has {min(replicas)} replicas, not {factor}")
            return
        if time.monotonic() >= deadline:
            fail(f"topics still missing from metadata: {', '.join(absent)}")
        await asyncio.sleep(0.5)


async def align_config(
    admin: AIOKafkaAdminClient, names: list[str], config: dict[str, str]
) -> None:
    """Topics made before a setting changed get it now; altering is idempotent."""
    resources = [
        (ConfigResourceType.TOPIC, name, [(k, SET, v) for k, v in config.items()]) for name in names
    ]
    response = await admin._send_request(IncrementalAlterConfigs(resources))
    for code, message, _type, name in response.responses:
        if code != 0:
            fail(f"setting {', '.join(config)} on {name} failed: "
                 f"{for_code(code).__name__} {message or ''}".rstrip())  # fmt: skip


async def warm_group_coordinator(admin: AIOKafkaAdminClient, deadline: float) -> None:
    """Have the broker create __consumer_offsets now, so that the first consumer
    group does not wait for it (and log GroupCoordinatorNotAvailable)."""
    while True:
        try:
            await admin.find_coordinator("crm-topics-warmup")
            return
        except KafkaError as exc:
            if time.monotonic() >= deadline:
                fail(f"the group coordinator is not available: {exc!r}")
            await asyncio.sleep(0.5)


async def create(settings: TopicSettings, wait_s: float) -> None:
    # aiokafka logs every refused connection while we wait; we report ourselves.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    deadline = time.monotonic() + wait_s
    wanted = {settings.topic_prefix + name: count for name, count in PARTITIONS.items()}
    admin = await connect(settings, deadline)
    try:
        await create_missing(admin, wanted, settings)
        later = max(deadline, time.monotonic() + 10)
        await verify(admin, wanted, settings.topic_replication_factor, later)
        await align_config(admin, list(wanted), settings.topic_config())
        await warm_group_coordinator(admin, max(deadline, time.monotonic() + 10))
    finally:
        await admin.close()
    summary = ", ".join(f"{name}={count}" for name, count in wanted.items())
    print(f"[topics] ok on {settings.kafka_servers}: {summary}")


def parse(argv: list[str] | None = None) -> tuple[TopicSettings, float]:
    """The settings with the command line's flags over the ``CRM_`` environment."""
    parser = argparse.ArgumentParser(prog="python -m shared.topics_admin", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("command", choices=["create"])
    parser.add_argument("--replication-factor", type=int, dest="topic_replication_factor")
    parser.add_argument("--min-insync-replicas", type=int, dest="topic_min_insync_replicas")
    parser.add_argument("--retention-ms", type=int, dest="topic_retention_ms")
    parser.add_argument("--prefix", dest="topic_prefix", help="namespace the topics")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (60)")
    arguments = vars(parser.parse_args(argv))
    wait_s = arguments.pop("timeout")
    arguments.pop("command")
    flags = {name: value for name, value in arguments.items() if value is not None}
    try:
        return TopicSettings(**flags), wait_s
    except ValidationError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    topic_settings, timeout = parse()
    asyncio.run(create(topic_settings, timeout))
