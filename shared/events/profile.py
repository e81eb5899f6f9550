"""Events profile publishes on ``crm.profile``."""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.events.bounds import Id, Name
from shared.events.payload import Payload


class CustomerCreated(Payload):
    """Profile met a customer it did not know and gave them a canonical id."""

    customer_id: Id
    source: Name
    external_id: Name
    created_at: AwareDatetime
