"""The Kafka topics of the platform and how many partitions each one has.

Every topic is keyed by customer, so partitions are the unit of scale: a
consumer group runs at most one busy replica per partition.
"""

from typing import Final

INBOUND: Final = "crm.inbound"
ACTIVITY: Final = "crm.activity"
PROFILE: Final = "crm.profile"
LIFECYCLE: Final = "crm.lifecycle"
LOYALTY: Final = "crm.loyalty"
FEEDBACK: Final = "crm.feedback"
GATEWAY: Final = "crm.gateway"
DEADLETTER: Final = "crm.deadletter"

DEFAULT_PARTITIONS: Final = 12

PARTITIONS: Final[dict[str, int]] = {
    INBOUND: DEFAULT_PARTITIONS,
    ACTIVITY: DEFAULT_PARTITIONS,
    PROFILE: DEFAULT_PARTITIONS,
    LIFECYCLE: DEFAULT_PARTITIONS,
    LOYALTY: DEFAULT_PARTITIONS,
    FEEDBACK: DEFAULT_PARTITIONS,
    GATEWAY: DEFAULT_PARTITIONS,
    DEADLETTER: 3,
}
