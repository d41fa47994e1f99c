"""Sales and returns as fiscal records: append-only, identified by their ticket key."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import model_validator

from bridge.model.base import Record
from bridge.model.customer import CustomerRef
from bridge.model.money import Money
from bridge.model.types import CurrencyCode, Dec, Identifier, OptionalIdentifier


class TicketKey(Record):
    """Who rang the ticket up: (store, workstation, business day, sequence) or a transaction id."""

    store: Identifier
    workstation: OptionalIdentifier = None
    business_day: date | None = None
    sequence: OptionalIdentifier = None
    transaction_id: OptionalIdentifier = None

    @model_validator(mode="after")
    def _identifiable(self) -> TicketKey:
        if self.transaction_id is None and self.sequence is None:
            raise ValueError("a ticket needs a sequence number or a transaction id")
        return self

    def as_string(self) -> str:
        """A stable text key, used as the inbox event key and in shop history links."""
        if self.transaction_id:
            return f"{self.store}/tx/{self.transaction_id}"
        day = self.business_day.isoformat() if self.business_day else "-"
        return f"{self.store}/{self.workstation or '-'}/{day}/{self.sequence}"


class TicketLink(Record):
    """A pointer from a return line (or ticket) to the original sale."""

    store: OptionalIdentifier = None
    workstation: OptionalIdentifier = None
    business_day: date | None = None
    sequence: OptionalIdentifier = None
    transaction_id: OptionalIdentifier = None
    line: OptionalIdentifier = None
    order_reference: OptionalIdentifier = None
    """A web order number, when a store return refers to an online order."""


class SaleStatus(StrEnum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    VOIDED = "voided"
    SUSPENDED = "suspended"
    TRAINING = "training"
    OTHER = "other"

    @property
    def moves_stock(self) -> bool:
        return self is SaleStatus.COMPLETED


class SaleLine(Record):
    """One item line. ``quantity`` is positive for goods sold and negative for goods returned;
    ``amount`` (the extended amount) carries the same sign, so a ticket's lines add up."""

    line_no: Identifier
    sku: Identifier
    quantity: Dec
    unit_price: Money | None = None
    amount: Money | None = None
    discount: Money | None = None
    description: str = ""
    barcode: OptionalIdentifier = None
    unit: str | None = None
    is_return: bool = False
    voided: bool = False
    link: TicketLink | None = None

    @model_validator(mode="after")
    def _sign_matches_kind(self) -> SaleLine:
        if self.is_return and self.quantity > 0:
            raise ValueError(f"line {self.line_no}: a return line carries a negative quantity")
        return self


class LoyaltyEntry(Record):
    """Loyalty points as the till or shop recorded them on the ticket (POSLog LoyaltyReward or
    LoyaltyRedemption lines): ``earned`` adds ``points``, ``redeemed`` spends them (a negative
    value undoes, e.g. on a return). Brique's ledger decides what they count for."""

    kind: Literal["earned", "redeemed"]
    points: Dec
    card: OptionalIdentifier = None
    """The loyalty card or account the line names, if it names one."""
    line_no: OptionalIdentifier = None
    """The ticket line that recorded it (its key within the ticket)."""
    program: OptionalIdentifier = None
    value: Money | None = None
    """What a redemption was worth (the discount or tender it paid), when stated."""


class Tender(Record):
    """A payment (or a refund when ``refund`` is true)."""

    kind: str
    amount: Money
    refund: bool = False


class Sale(Record):
    """A POS ticket or a web order: lines, discounts, tenders, totals, customer."""

    key: TicketKey
    status: SaleStatus
    occurred_at: datetime | None = None
    currency: CurrencyCode
    lines: tuple[SaleLine, ...] = ()
    tenders: tuple[Tender, ...] = ()
    total: Money | None = None
    customer: CustomerRef | None = None
    channel: str = "store"
    link: TicketLink | None = None
    basket: OptionalIdentifier = None
    """The basket this sale completes: Brique's handoff code when the till or shop echoes
    it (a draft sale's reference, a cart attribute), else the platform's cart id or token."""
    loyalty: tuple[LoyaltyEntry, ...] = ()
    """Points the till or shop itself recorded (earned, redeemed); empty when it states none."""

    def stock_lines(self) -> tuple[SaleLine, ...]:
        """Lines that move stock: none for a cancelled ticket, never a voided line."""
        if not self.status.moves_stock:
            return ()
        return tuple(line for line in self.lines if not line.voided and line.quantity != 0)
