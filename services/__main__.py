"""Run a service, or all of them in one process.

python -m services gateway|profile|lifecycle|feedback|loyalty   one service (CRM_ settings)
python -m services embedded                                       all five, SQLite + in-memory bus
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from fastapi import FastAPI

from services import NAMES, definition
from shared.app import create_service_app
from shared.logging import configure_logging
from shared.settings import ServiceSettings
from shared.tracing import configure as configure_tracing


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a CRM service.")
    parser.add_argument("service", choices=[*NAMES, "embedded"])
    parser.add_argument("--port", type=int, default=None)
    arguments = parser.parse_args()
    base = ServiceSettings()
    configure_logging(base.log_level, base.log_format)
    configure_tracing(base, arguments.service)
    if arguments.service == "embedded":
        from services.embedded import create_embedded_app

        app = create_embedded_app(base.data_dir)
        port = arguments.port or base.gateway_port
    else:
        port = arguments.port or base.port_of(arguments.service)
        if base.workers > 1:
            # Each worker process builds the app itself, from CRM_SERVICE.
            os.environ["CRM_SERVICE"] = arguments.service
            uvicorn.run(
                "services.__main__:service_app",
                factory=True,
                workers=base.workers,
                host=base.bind_host,
                port=port,
                log_level="warning",
                access_log=False,
                log_config=None,  # uvicorn logs through our handler (shared.logging)
            )
            return
        app = service_app(arguments.service)
    # CRM_BIND_HOST: loopback by default; a container binds 0.0.0.0 and lets the platform
    # decide who reaches the port.
    uvicorn.run(
        app,
        host=base.bind_host,
        port=port,
        log_level="warning",
        access_log=False,
        log_config=None,  # uvicorn logs through our handler (shared.logging)
    )


def service_app(name: str | None = None) -> FastAPI:
    """The app of the service ``name`` (default: ``CRM_SERVICE``), as one process runs it."""
    base = ServiceSettings()
    configure_logging(base.log_level, base.log_format)
    service = definition(name or base.service)
    configure_tracing(base, service.name)
    return create_service_app(service, service.settings(service=service.name))


if __name__ == "__main__":
    main()
