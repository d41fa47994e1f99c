"""Baskets, their handoffs to other channels, and their append-only lifecycle journal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bridge.store.tables import Base, Id, Stamp, utcnow


class BasketRow(Base):
    """A basket as Brique knows it now: lines in canonical SKUs, its status and code.

    A basket read from a platform is keyed by (``source_connection``, ``source_id``); one
    built through Brique (showroom scans, the API) has no source. Every basket has a short
    ``code`` a person reads aloud at a till.
    """

    __tablename__ = "baskets"
    __table_args__ = (
        UniqueConstraint("code", name="uq_baskets_code"),
        UniqueConstraint("source_connection", "source_id", name="uq_baskets_source"),
        Index("ix_baskets_status_activity", "status", "last_activity_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(16))
    source_connection: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(20))
    """web | store: where the basket was built."""
    status: Mapped[str] = mapped_column(String(20))
    """active, wish_list, quote, abandoned, transferred, converted, expired."""
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[str] = mapped_column(Text)
    """JSON list of {sku, quantity, unit_price: {amount, currency} | null}, canonical SKUs."""
    customer: Mapped[str | None] = mapped_column(Text)
    """JSON CustomerRef as the platform gave it."""
    golden_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    location: Mapped[str | None] = mapped_column(String(100))
    """Brique location code: the store it was built in, or handed to."""
    url: Mapped[str | None] = mapped_column(Text)
    """The platform's own resume/checkout link, when it gave one."""
    content_hash: Mapped[str] = mapped_column(String(64))
    platform_updated_at: Mapped[datetime | None] = mapped_column(Stamp)
    """The source's own update time: an older version arriving late changes nothing."""
    last_activity_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    converted_ref: Mapped[str | None] = mapped_column(String(400))
    """What completed it: a journaled sale as ``connection/ticket key``, or, when the
    platform itself reported its cart became an order, ``connection/order reference``."""
    bought_in_store_ref: Mapped[str | None] = mapped_column(String(400))
    """The store sale in which the same customer bought its items (no reminder)."""
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class BasketHandoffRow(Base):
    """A basket opened on another platform (a web cart with its link, a draft sale at a
    till): one per (basket, connection), written through the outbox."""

    __tablename__ = "basket_handoffs"
    __table_args__ = (UniqueConstraint("basket_id", "connection", name="uq_basket_handoffs_pair"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    basket_id: Mapped[int] = mapped_column(ForeignKey("baskets.id"), index=True)
    connection: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """pending -> open -> closing -> closed; failed when the platform refused it."""
    location: Mapped[str | None] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class BasketJournalRow(Base):
    """The lifecycle journal: created, updated, wish_list, quote, abandoned, transferred,
    converted, expired, purchased_in_store... append-only, one row per transition.

    ``entry_key`` makes each transition idempotent (a replayed webhook adds nothing).
    """

    __tablename__ = "basket_journal"
    __table_args__ = (
        UniqueConstraint("entry_key", name="uq_basket_journal_key"),
        Index("ix_basket_journal_basket", "basket_id", "id"),
        Index("ix_basket_journal_customer", "golden_id", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(400))
    basket_id: Mapped[int] = mapped_column(ForeignKey("baskets.id"))
    event: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    """The basket's status after this entry."""
    golden_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class StorePurchaseRow(Base):
    """What an identified customer bought in a store, line by line, for the abandoned-cart
    guard: a cart whose items the same person bought at a till needs no reminder.

    Filed under the golden record known when the ticket was applied; merges are followed
    when the guard reads it. Keyed by the ticket line: a replayed ticket adds nothing.
    """

    __tablename__ = "store_purchases"
    __table_args__ = (
        UniqueConstraint("connection", "ticket_key", "line_no", name="uq_store_purchases_line"),
        Index("ix_store_purchases_customer", "golden_id", "sku", "at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    golden_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    sku: Mapped[str] = mapped_column(String(255))
    quantity_e4: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(Stamp)
    connection: Mapped[str] = mapped_column(String(100))
    ticket_key: Mapped[str] = mapped_column(String(255))
    line_no: Mapped[str] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(100))
