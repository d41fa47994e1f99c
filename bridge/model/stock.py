"""Stock per (sku, location): an append-only ledger of movements and the levels it yields."""

from __future__ import annotations

from enum import StrEnum

from bridge.model.base import Record
from bridge.model.types import Dec, Identifier, OptionalIdentifier


class MovementReason(StrEnum):
    SALE = "sale"
    RETURN = "return"
    COUNT = "count"
    """A physical count or an import: the delta brings the ledger to the counted quantity."""
    ADJUSTMENT = "adjustment"
    RESERVATION = "reservation"
    RELEASE = "release"


class StockMovement(Record):
    """One change of on-hand quantity; negative for goods leaving the location."""

    sku: Identifier
    location: Identifier
    delta: Dec
    reason: MovementReason
    source_ref: OptionalIdentifier = None
    """The document behind the movement, e.g. a ticket key; shown in the shop's history."""


class StockLevel(Record):
    """What a location holds and what a channel may sell from it."""

    sku: Identifier
    location: Identifier
    on_hand: Dec
    reserved: Dec = 0  # type: ignore[assignment]
    safety_buffer: Dec = 0  # type: ignore[assignment]

    @property
    def available(self):
        """On hand minus reservations minus the safety buffer, never below zero."""
        value = self.on_hand - self.reserved - self.safety_buffer
        return value if value > 0 else type(value)(0)
