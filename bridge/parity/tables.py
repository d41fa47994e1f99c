"""The parity watchdog's tables: divergences with their lifecycle, what tills rang up, and
when the last full comparison ran.

Money is the Decimal's text with its currency, like the price referential.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bridge.store.tables import Base, Id, Stamp, utcnow


class PriceDivergence(Base):
    """One price that disagrees with its policy, open until a comparison finds it agreeing.

    The key is (SKU, rule, member): ``group:<name>`` (the member is off its group's
    baseline), ``shop_holds`` (the shop holds another price than the mapping computes) or
    ``till`` (a till rang another price than its store's list). A divergence that comes
    back after being resolved reopens the same row with the next ``occurrence``: alerts are
    keyed by (row, occurrence), so each opening and each resolution is announced once.
    """

    __tablename__ = "price_divergences"
    __table_args__ = (
        UniqueConstraint("sku", "rule", "member", name="uq_price_divergences_key"),
        Index("ix_price_divergences_status", "status", "sku"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sku: Mapped[str] = mapped_column(String(255))
    rule: Mapped[str] = mapped_column(String(120))
    member: Mapped[str] = mapped_column(String(120))
    """``channel:<connection>``, ``store:<code>`` or ``list:<name>``."""
    status: Mapped[str] = mapped_column(String(20), default="open")
    """open -> resolved (-> open again, next occurrence)."""
    occurrence: Mapped[int] = mapped_column(Integer, default=1)
    observed: Mapped[str | None] = mapped_column(String(40))
    """The member's price, tax included (None: the shop was never sent one)."""
    expected: Mapped[str | None] = mapped_column(String(40))
    """What the policy expects (the group's baseline, the computed price, the list price)."""
    currency: Mapped[str] = mapped_column(String(3))
    prices: Mapped[str] = mapped_column(Text)
    """JSON: the prices involved, each with its source (computed, held, list, till)."""
    message: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    """When this occurrence was first found."""
    last_seen: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(Stamp)


class TillPrice(Base):
    """The latest unit price a till rang up for a SKU in a store, from the sales journal."""

    __tablename__ = "price_till_observations"
    __table_args__ = (UniqueConstraint("location", "sku", name="uq_price_till_observations_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    location: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(255), index=True)
    amount: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    connection: Mapped[str] = mapped_column(String(100))
    ticket_key: Mapped[str] = mapped_column(String(255))
    sale_id: Mapped[int] = mapped_column(BigInteger)
    rung_at: Mapped[datetime] = mapped_column(Stamp)
    """When the till rang it (the ticket's time; Brique's recording time if it has none)."""


class ParityState(Base):
    """Where the watchdog stands: its journal cursor and its full comparisons."""

    __tablename__ = "price_parity_state"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    sales_cursor: Mapped[int | None] = mapped_column(BigInteger)
    """The last sales journal row read for till prices."""
    scan_requested_at: Mapped[datetime | None] = mapped_column(Stamp)
    scan_finished_at: Mapped[datetime | None] = mapped_column(Stamp)
    skus_scanned: Mapped[int | None] = mapped_column(Integer)
