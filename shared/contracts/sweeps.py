"""What every service's sweep route takes: whether to sweep every tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from shared.contracts.query import Flag

AllTenants = Annotated[
    Flag, Query(description="Sweep every tenant, not only the caller's (operator only)")
]
