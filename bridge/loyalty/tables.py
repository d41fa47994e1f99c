"""The points ledger, what each connection was last told, and which merges were seen.

Points are integers in units of 1/10,000 (``points_e4``), like stock quantities: sums are
exact on every database and fractional points (``places`` up to 4) survive.
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


class LoyaltyEntryRow(Base):
    """One change of points, append-only; ``entry_key`` makes every source of it idempotent.

    ``record_id`` is the observed customer record a sale came from: the entry follows that
    record through merges and back through their undo (records move, entries never do).
    ``golden_id`` is the golden record at entry time; it places entries that have no record
    (manual adjustments), resolved through ``customers.merged_into``.
    """

    __tablename__ = "loyalty_entries"
    __table_args__ = (
        UniqueConstraint("entry_key", name="uq_loyalty_entries_key"),
        Index("ix_loyalty_entries_ticket", "connection", "ticket_key", "line_no"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(400))
    golden_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("customer_records.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    """earn, redeem, return (points a returned line takes back) or adjust."""
    origin: Mapped[str] = mapped_column(String(20))
    """stated (the till's own figure), computed (the mapping's rules) or manual."""
    points_e4: Mapped[int] = mapped_column(BigInteger)
    """Signed: earning adds, redeeming and returns take away."""
    connection: Mapped[str | None] = mapped_column(String(100))
    ticket_key: Mapped[str | None] = mapped_column(String(255))
    line_no: Mapped[str | None] = mapped_column(String(255))
    quantity_e4: Mapped[int | None] = mapped_column(BigInteger)
    """The line's quantity, so a later return of part of it takes back its share."""
    link_key: Mapped[str | None] = mapped_column(String(600), index=True)
    """For a return linked to its sale: ``<ticket key>#<line>`` of the line it reverses."""
    channel: Mapped[str | None] = mapped_column(String(20))
    basis: Mapped[str | None] = mapped_column(Text)
    """The amount the points were computed on (exact decimal text), when computed."""
    currency: Mapped[str | None] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(Text)
    mapping_version: Mapped[str | None] = mapped_column(String(32))
    occurred_at: Mapped[datetime | None] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class LoyaltyPublication(Base):
    """Whether a golden record's balance must be pushed again to a connection (the work
    queue: stale flag, version, claim), as stock and price publications are."""

    __tablename__ = "loyalty_publications"
    __table_args__ = (
        UniqueConstraint("connection", "golden_id", name="uq_loyalty_publications_key"),
        Index("ix_loyalty_publications_dirty", "connection", "dirty"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    golden_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    dirty_since: Mapped[datetime | None] = mapped_column(Stamp, default=utcnow)
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    source_ref: Mapped[str | None] = mapped_column(String(400))
    published_at: Mapped[datetime | None] = mapped_column(Stamp)


class LoyaltyPublished(Base):
    """What a platform customer (one external id on one connection) was last sent.

    Kept per external id, not per golden record: after a merge, or its undo, an account
    changes hands, and only what it really shows decides whether a write is needed.
    """

    __tablename__ = "loyalty_published"
    __table_args__ = (
        UniqueConstraint("connection", "external_id", name="uq_loyalty_published_key"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(255))
    golden_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    balance_e4: Mapped[int] = mapped_column(BigInteger)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class LoyaltyMergeSeen(Base):
    """Merges (and their undo) whose balances were marked for a push: the identity core
    knows nothing of loyalty, so the ledger notices merges itself."""

    __tablename__ = "loyalty_merges_seen"
    merge_id: Mapped[int] = mapped_column(ForeignKey("customer_merges.id"), primary_key=True)
    undone: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
