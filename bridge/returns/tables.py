"""Web orders as a till looks them up, and store returns linked to them.

Quantities are integer ``*_e4`` (1/10,000 units) like the stock ledger; money is Decimal text
with its currency (SQLite has no decimal type).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from bridge.store.tables import Base, Id, Stamp, utcnow


class WebOrder(Base):
    """A journaled web order, as returns need it: who sold it, its platform id, its money."""

    __tablename__ = "return_web_orders"
    __table_args__ = (Unique("connection", "ticket_key", name="uq_return_web_orders_ticket"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    """The shop connection that sold it (and is told of its returns)."""
    ticket_key: Mapped[str] = mapped_column(String(255))
    """Its key in the sales journal (``sales.ticket_key``)."""
    order_id: Mapped[str] = mapped_column(String(255))
    """The platform's own id of the order (Shopify's numeric id, Vendure's code...)."""
    number: Mapped[str] = mapped_column(String(255))
    """The number the customer sees (``#1001``)."""
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    tax_included: Mapped[bool | None] = mapped_column(Boolean)
    """Whether its line amounts include tax; None when the platform does not say."""
    sale_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class WebOrderAlias(Base):
    """One normalised number a till may type for a web order (several per order)."""

    __tablename__ = "return_web_order_aliases"
    __table_args__ = (Unique("alias", "order_id", name="uq_return_web_order_aliases_alias"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    alias: Mapped[str] = mapped_column(String(255))
    order_id: Mapped[int] = mapped_column(ForeignKey("return_web_orders.id"), index=True)


class WebOrderLine(Base):
    """A web order line: what was bought, what was paid, and what came back so far."""

    __tablename__ = "return_web_order_lines"
    __table_args__ = (Unique("order_id", "line_no", name="uq_return_web_order_lines_line"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("return_web_orders.id"), index=True)
    line_no: Mapped[str] = mapped_column(String(255))
    sku: Mapped[str] = mapped_column(String(255))
    """Brique's SKU (the journal's canonical one)."""
    quantity_e4: Mapped[int] = mapped_column(BigInteger)
    returned_e4: Mapped[int] = mapped_column(BigInteger, default=0)
    """Returned at stores so far; never above ``quantity_e4``."""
    paid: Mapped[str | None] = mapped_column(String(40))
    """What the line cost the customer after discounts, on the order's tax basis."""
    tax: Mapped[str | None] = mapped_column(String(40))
    """The line's tax, when the order's amounts exclude it and the platform states it."""


class StoreReturn(Base):
    """Goods of one web order returned on one store ticket: matched, or waiting."""

    __tablename__ = "store_returns"
    __table_args__ = (
        Unique("return_key", name="uq_store_returns_key"),
        Index("ix_store_returns_status", "status", "id"),
        Index("ix_store_returns_alias", "alias"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    return_key: Mapped[str] = mapped_column(String(400))
    """``<connection>:<store ticket key>:<normalised order number>``."""
    connection: Mapped[str] = mapped_column(String(100))
    ticket_key: Mapped[str] = mapped_column(String(255))
    location: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime | None] = mapped_column(Stamp)
    reference: Mapped[str] = mapped_column(String(255))
    """The order number as the till typed it."""
    alias: Mapped[str] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="unmatched")
    """unmatched -> matched."""
    reason_code: Mapped[str | None] = mapped_column(String(40))
    """Why it is unmatched: unknown_order, ambiguous, over_return, sku_not_on_order,
    order_not_completed."""
    reason: Mapped[str | None] = mapped_column(Text)
    web_order_id: Mapped[int | None] = mapped_column(ForeignKey("return_web_orders.id"))
    paid: Mapped[str | None] = mapped_column(String(40))
    refunded: Mapped[str | None] = mapped_column(String(40))
    difference: Mapped[str | None] = mapped_column(String(40))
    """paid - refunded, in ``currency``, once matched and computable."""
    difference_status: Mapped[str] = mapped_column(String(30), default="pending")
    """pending (unmatched), none, flagged, refunded_more, currency_mismatch, not_computed."""
    difference_cause: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    """The latest ``returns`` write to the shop."""
    shop_status: Mapped[str] = mapped_column(String(20), default="none")
    """none (unmatched), pending, done, failed, dead, unsupported."""
    shop_detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Matching attempts (the first, then each arrival of a candidate order)."""
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    matched_at: Mapped[datetime | None] = mapped_column(Stamp)


class StoreReturnLine(Base):
    """One returned line of the store ticket, with the web order lines it came from."""

    __tablename__ = "store_return_lines"
    __table_args__ = (Unique("return_id", "line_no", name="uq_store_return_lines_line"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("store_returns.id"), index=True)
    line_no: Mapped[str] = mapped_column(String(255))
    sku: Mapped[str] = mapped_column(String(255))
    quantity_e4: Mapped[int] = mapped_column(BigInteger)
    """Returned units, positive."""
    amount: Mapped[str | None] = mapped_column(String(40))
    """What the till refunded for the line, positive; None when the ticket does not say."""
    unit_price: Mapped[str | None] = mapped_column(String(40))
    allocations: Mapped[str | None] = mapped_column(Text)
    """JSON: ``[{"line_no": web line, "quantity": "1"}]`` once matched."""
    paid: Mapped[str | None] = mapped_column(String(40))
    refunded: Mapped[str | None] = mapped_column(String(40))
    store_price: Mapped[str | None] = mapped_column(String(40))
    """The store's unit price for the SKU (its price list), for the comparison."""
