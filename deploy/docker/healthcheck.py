"""The image's HEALTHCHECK: is the service of this container alive (``/healthz``)?
With ``--ready``: can it serve (``/readyz``: its database and Kafka reachable), which
docker compose waits for before it starts what depends on the service.

Standard library only (it runs every few seconds). The service and its port are those
of the container's ``python -m services <name> [--port N]`` process, with the
``CRM_<NAME>_PORT`` and ``CRM_BIND_HOST`` settings it reads; exit 0 when it answers 200.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

DEFAULT_PORTS = {
    "gateway": 8000,
    "profile": 8001,
    "lifecycle": 8002,
    "feedback": 8003,
    "loyalty": 8004,
    "embedded": 8000,
}


def service_command() -> list[str]:
    """The arguments after ``-m services`` of the container's service process."""
    for cmdline in sorted(Path("/proc").glob("[0-9]*/cmdline")):
        try:
            arguments = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        for i in range(len(arguments) - 2):
            if arguments[i : i + 2] == ["-m", "services"]:
                return arguments[i + 2 :]
    sys.exit("no 'python -m services <name>' process in this container")


def url(path: str) -> str:
    command = service_command()
    name = command[0]
    port = os.environ.get(f"CRM_{name.upper()}_PORT", str(DEFAULT_PORTS.get(name, 8000)))
    if name == "embedded":
        port = os.environ.get("CRM_GATEWAY_PORT", port)
    if "--port" in command[:-1]:
        port = command[command.index("--port") + 1]
    host = os.environ.get("CRM_BIND_HOST", "127.0.0.1")
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{port}{path}"


if __name__ == "__main__":
    try:
        path = "/readyz" if "--ready" in sys.argv[1:] else "/healthz"
        with urllib.request.urlopen(url(path), timeout=2) as answer:
            sys.exit(0 if answer.status == 200 else 1)
    except OSError as exc:
        sys.exit(f"unhealthy: {exc}")
