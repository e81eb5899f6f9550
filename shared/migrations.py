"""Schema management: each service migrates its own database with Alembic.

Every service runs ``migrate`` at start (under a PostgreSQL advisory lock, so
replicas starting together migrate once); operators can run it alone:

    python -m shared.migrations upgrade <service>
    python -m shared.migrations revision <service> -m "what changed"   (autogenerate)
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.settings import ServiceSettings

_ROOT = Path(__file__).resolve().parent.parent
_MIGRATION_LOCK = 0x0C2B_0002


def alembic_config(service: str, connection: Connection) -> Config:
    config = Config()
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", str(_ROOT / "shared" / "alembic"))
    config.set_main_option("version_locations", str(_ROOT / "services" / service / "migrations"))
    config.set_main_option("service", service)
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine, service: str) -> None:
    """Bring the service's schema to the newest revision."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(service, sync), "head"))


async def _revision(engine: AsyncEngine, service: str, message: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(
            lambda sync: command.revision(
                alembic_config(service, sync), message=message, autogenerate=True
            )
        )


async def _main(arguments: argparse.Namespace) -> None:
    settings = ServiceSettings(service=arguments.service)
    engine = create_engine(settings.db_url)
    try:
        if arguments.command == "upgrade":
            await migrate(engine, arguments.service)
        else:
            await _revision(engine, arguments.service, arguments.message)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["upgrade", "revision"])
    parser.add_argument("service")
    parser.add_argument("-m", "--message", default="change")
    asyncio.run(_main(parser.parse_args()))
