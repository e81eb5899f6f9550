"""The compose topology on a host whose containers share the host's network.

Where the Docker daemon runs without a bridge (``dockerd --bridge=none``, as on CI's
machines) and no registry serves ``postgres`` or ``apache/kafka``, the compose file is
run as it is written except for its networking: every container on the host network,
each service on its ``CRM_<SERVICE>_PORT``, and PostgreSQL and Kafka those of ``make
infra`` (their compose services become waiters whose health is the host's port).
The commands, images, health checks and start order are the file's own.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from services import NAMES

DEFAULT_PORTS = {"gateway": 8000, "profile": 8001, "lifecycle": 8002, "feedback": 8003}
DEFAULT_PORTS["loyalty"] = 8004


def port(env: Mapping[str, str], name: str) -> int:
    defaults = {"pg": 55432, "kafka": 59092, **DEFAULT_PORTS}
    return int(env.get(f"CRM_{name.upper()}_PORT", defaults[name]))


def host_mode(compose: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``compose`` (the parsed deploy/compose/docker-compose.yml) run on the host network."""
    derived = copy.deepcopy(compose)
    services = derived["services"]
    for name, service in services.items():
        service["network_mode"] = "host"
        service.pop("ports", None)
        service.pop("build", None)
        if name in ("postgres", "kafka"):
            infra = "pg" if name == "postgres" else "kafka"
            services[name] = waiter(services["profile"]["image"], port(env, infra))
        else:
            service["environment"] = {**service.get("environment", {}), **endpoints(env)}
    derived.pop("volumes", None)
    return derived


def endpoints(env: Mapping[str, str]) -> dict[str, str]:
    """Where everything is on the host: the ports of ``.helper-env`` or the defaults."""
    settings = {
        "CRM_BIND_HOST": "127.0.0.1",
        "CRM_PG_HOST": "127.0.0.1",
        "CRM_PG_PORT": str(port(env, "pg")),
        "CRM_KAFKA_BOOTSTRAP": f"127.0.0.1:{port(env, 'kafka')}",
    }
    for name in NAMES:
        settings[f"CRM_{name.upper()}_PORT"] = str(port(env, name))
        if name != "gateway":
            settings[f"CRM_{name.upper()}_URL"] = f"http://127.0.0.1:{port(env, name)}"
    return settings


def waiter(image: str, host_port: int) -> dict[str, Any]:
    """A stand-in for PostgreSQL or Kafka run by ``make infra``: healthy once its port is."""
    probe = f"import socket; socket.create_connection(('127.0.0.1', {host_port}), 2).close()"
    return {
        "image": image,
        "network_mode": "host",
        "command": ["python", "-c", "import time; time.sleep(10**9)"],
        "healthcheck": {
            "test": ["CMD", "python", "-c", probe],
            "interval": "2s",
            "timeout": "3s",
            "retries": 30,
        },
    }
