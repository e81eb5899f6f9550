"""The one Alembic environment of every service; the service is a config option.

Run programmatically (``shared.migrations.migrate`` at start, on the service's
own connection) or from the command line (``python -m shared.migrations``).
"""

from __future__ import annotations

import importlib

from alembic import context
from sqlalchemy.engine import Connection

config = context.config
service = config.get_main_option("service")
metadata = importlib.import_module(f"services.{service}.tables").metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run(config.attributes["connection"])
