"""References to a customer as each channel knows them."""

from __future__ import annotations

from pydantic import Field

from bridge.model.base import Record
from bridge.model.types import OptionalIdentifier


class CustomerRef(Record):
    """The identity keys a record carries; the golden record is built from these later."""

    customer_id: OptionalIdentifier = None
    loyalty_card: OptionalIdentifier = None
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    channel_ids: dict[str, str] = Field(default_factory=dict)
