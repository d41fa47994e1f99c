"""Baskets and their lifecycle across channels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bridge.model.base import Record
from bridge.model.customer import CustomerRef
from bridge.model.money import Money
from bridge.model.types import CurrencyCode, Dec, Identifier


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
