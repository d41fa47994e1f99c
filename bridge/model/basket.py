"""Baskets and their lifecycle across channels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bridge.model.base import Record
from bridge.model.customer import CustomerRef
from bridge.model.money import Money
from bridge.model.types import CurrencyCode, Dec, Identifier, OptionalIdentifier


class BasketStatus(StrEnum):
    ACTIVE = "active"
    WISH_LIST = "wish_list"
    QUOTE = "quote"
    ABANDONED = "abandoned"
    TRANSFERRED = "transferred"
    CONVERTED = "converted"
    EXPIRED = "expired"


class BasketLine(Record):
    sku: Identifier
    quantity: Dec
    unit_price: Money | None = None


class Basket(Record):
    """A cart started on one channel, possibly finished on another."""

    basket_id: Identifier
    channel: str
    status: BasketStatus = BasketStatus.ACTIVE
    currency: CurrencyCode
    lines: tuple[BasketLine, ...] = ()
    customer: CustomerRef | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    url: str | None = None
    """Where the customer resumes it (checkout or recovery link), when the platform says."""
    order_reference: OptionalIdentifier = None
    """The order that completed it on its own platform (a converted cart)."""
    code: OptionalIdentifier = None
    """Brique's handoff code, when the platform echoes it back (cart attribute, sale
    reference): links the platform's basket to the handed-off one."""
    location: OptionalIdentifier = None
    """The platform's store or location id, for a basket built in a store."""
    kind: BasketStatus | None = None
    """``wish_list`` or ``quote`` when the platform tells those apart from a cart."""
