"""Web orders' tables: the journal's versions, each order's hold per line, what tills were told.

Quantities are integers in 1/10,000 (``*_e4``), like the ledger they mirror.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bridge.store.tables import Base, Id, Stamp, utcnow


class SaleVersionRow(Base):
    """Every version of a web order as the shop sent it, append-only.

    ``sales`` holds the latest version; version 1 here keeps the first one. A version is
    a change of content (its hash) or of what the shop says of the goods beyond it
    (``fulfilled``, ``store``: read from its native order, the canonical sale has no field
    for them); what changed status-wise is ``previous_status`` -> ``status`` and
    ``fulfilled``.
    """

    __tablename__ = "sale_versions"
    __table_args__ = (UniqueConstraint("sale_id", "version", name="uq_sale_versions_version"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    previous_status: Mapped[str | None] = mapped_column(String(20))
    """The status of the version before (None for the first)."""
    fulfilled: Mapped[bool] = mapped_column(Boolean, default=False)
    """The shop says the goods left the store (``orders.<shop>.fulfilled``)."""
    store: Mapped[str | None] = mapped_column(String(255))
    """The shop's own id of the store its order names (``orders.<shop>.store_from``)."""
    content_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class WebOrderRow(Base):
    """A shop's order as it holds store stock: which store, and where it stands.

    ``state``: ``open`` (holding), ``cancelled`` (released), ``inactive`` (a test or
    suspended order: holds nothing), ``fulfilled`` (the goods left: released and sold once;
    final, later versions move no stock).
    """

    __tablename__ = "web_orders"
    __table_args__ = (UniqueConstraint("connection", "order_key", name="uq_web_orders_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    order_key: Mapped[str] = mapped_column(String(255))
    """The journal's ticket key (``web/tx/100002``)."""
    order_number: Mapped[str] = mapped_column(String(255))
    """The shop's own order number or id, as its staff and customers know it."""
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), index=True)
    location: Mapped[str | None] = mapped_column(String(100))
    """The fulfilling store (a Brique location code); None while nothing needed one."""
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    """The journal version whose quantities the holds follow."""
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class OrderHoldRow(Base):
    """What one order line holds at its store now (the ledger has every change).

    ``version`` grows with each change of ``held_e4``: a till is told again when its
    publication's version is behind.
    """

    __tablename__ = "order_holds"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no", "sku", "location", name="uq_order_holds_line"),
        Index("ix_order_holds_location", "location"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("web_orders.id"), index=True)
    line_no: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(255))
    location: Mapped[str] = mapped_column(String(100))
    held_e4: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class HoldPublication(Base):
    """What a till (a POS connection) was last told about one hold, and who is telling it.

    A hold whose ``version`` is above ``published_version`` is stale for that till; a push
    claims it into an outbox row (``claimed_by``) and frees it once written.
    """

    __tablename__ = "hold_publications"
    __table_args__ = (UniqueConstraint("connection", "hold_id", name="uq_hold_publications_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    hold_id: Mapped[int] = mapped_column(ForeignKey("order_holds.id"), index=True)
    published_version: Mapped[int] = mapped_column(Integer, default=0)
    published_e4: Mapped[int | None] = mapped_column(BigInteger)
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime | None] = mapped_column(Stamp)
    error: Mapped[str | None] = mapped_column(Text)
    """Why the till refused the last version (a dead letter says it too)."""
