"""The state store's tables. The database is the truth; the broker only carries their ids.

Quantities are stored as integers in units of 1/10,000 (``*_e4``) so that sums are exact on
every database (SQLite has no decimal type) and weighed quantities keep four decimals.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


Id = BigInteger().with_variant(Integer, "sqlite")
"""SQLite only auto-increments INTEGER PRIMARY KEY."""

Stamp = DateTime(timezone=True)


class ConnectionState(Base):
    """Health of each connection: an auth or config error stops it until an admin acts."""

    __tablename__ = "connection_state"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    push_requested_at: Mapped[datetime | None] = mapped_column(Stamp)
    """Set when a stock push is queued, cleared when it starts: one push per window."""
    prices_mapping_version: Mapped[str | None] = mapped_column(String(32))
    """The mapping version this shop's prices were last computed with; a new mapping
    re-evaluates them all (and writes only those whose mapped fields changed)."""


class Binding(Base):
    """Brique id <-> external id per connection and entity, unique both ways."""

    __tablename__ = "bindings"
    __table_args__ = (
        UniqueConstraint("connection", "entity", "internal_id", name="uq_bindings_internal"),
        UniqueConstraint("connection", "entity", "external_id", name="uq_bindings_external"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(50))
    internal_id: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, onupdate=utcnow)


class InboxRow(Base):
    """An inbound event, keyed by the source's own event key: a duplicate is a no-op."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("connection", "event_key", name="uq_inbox_event"),
        Index("ix_inbox_status_received", "status", "received_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    event_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime | None] = mapped_column(Stamp)
    received_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """pending -> done | echo | dead."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(Stamp)
    mapping_version: Mapped[str | None] = mapped_column(String(32))


class SaleRow(Base):
    """The sales journal: every sale and return of every channel, append-only.

    ``store``/``workstation``/``business_day``/``sequence_no`` identify a till's numbering,
    so a gap in a register's ticket numbers shows up as an alert rather than silence.
    """

    __tablename__ = "sales"
    __table_args__ = (
        UniqueConstraint("connection", "ticket_key", name="uq_sales_ticket"),
        Index("ix_sales_register_day", "connection", "store", "workstation", "business_day"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    ticket_key: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(20))
    location: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime | None] = mapped_column(Stamp)
    payload: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    recorded_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    store: Mapped[str | None] = mapped_column(String(100))
    workstation: Mapped[str | None] = mapped_column(String(100))
    business_day: Mapped[date | None] = mapped_column(Date)
    sequence_no: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """A web order's latest version (``bridge.orders.tables.SaleVersionRow``); 1 otherwise."""


class StockMovementRow(Base):
    """The append-only stock ledger per (sku, location); ``movement_key`` makes it idempotent."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_sku_location", "sku", "location"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    movement_key: Mapped[str] = mapped_column(String(400), unique=True)
    sku: Mapped[str] = mapped_column(String(255))
    location: Mapped[str] = mapped_column(String(100))
    delta_e4: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(20))
    source_connection: Mapped[str | None] = mapped_column(String(100))
    source_ref: Mapped[str | None] = mapped_column(String(255))
    mapping_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class StockPublication(Base):
    """What a shop connection was last told for (sku, location), and whether it is stale.

    ``version`` grows on every change; a push clears ``dirty`` only if no change arrived
    while it was in flight. This is what coalesces ten sales into one write.
    """

    __tablename__ = "stock_publications"
    __table_args__ = (
        UniqueConstraint("connection", "sku", "location", name="uq_stock_publications_key"),
        Index("ix_stock_publications_dirty", "connection", "dirty"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(255))
    location: Mapped[str] = mapped_column(String(100))
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    dirty_since: Mapped[datetime | None] = mapped_column(Stamp, default=utcnow)
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    """The outbox row carrying this item now; NULL when free."""
    published_e4: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime | None] = mapped_column(Stamp)
    source_ref: Mapped[str | None] = mapped_column(String(400))
    """The document behind the latest change (``Ticket/<key>``, ``Count/<file>``...)."""


class OutboxRow(Base):
    """An outbound write with its idempotency key; one ``OutboxAttempt`` per try."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_created", "status", "created_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    sink: Mapped[str] = mapped_column(String(50))
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    reference: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """pending -> sent | dead | blocked."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    mapping_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(Stamp)


class OutboxAttempt(Base):
    __tablename__ = "outbox_attempts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Stamp)
    outcome: Mapped[str] = mapped_column(String(20), default="started")
    detail: Mapped[str | None] = mapped_column(Text)


class SyncCursor(Base):
    """Where each stream of each connection resumes."""

    __tablename__ = "sync_cursors"
    connection: Mapped[str] = mapped_column(String(100), primary_key=True)
    stream: Mapped[str] = mapped_column(String(100), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, onupdate=utcnow)


class DeadLetter(Base):
    """What could not be processed: visible, explained, replayable; never deleted."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_status", "status", "connection"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(20))
    """ingest (a document), inbox (an event), outbox (a write or one item of it)."""
    ref_id: Mapped[int | None] = mapped_column(BigInteger)
    record: Mapped[str | None] = mapped_column(String(400))
    error: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(60))
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(Stamp)


class PriceRow(Base):
    """The price referential: one price per (SKU, price list), as Brique received it.

    ``amount`` is the Decimal's text (SQLite has no decimal type, and a float would not do).
    """

    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("sku", "price_list", name="uq_prices_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sku: Mapped[str] = mapped_column(String(255), index=True)
    price_list: Mapped[str] = mapped_column(String(100))
    amount: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    tax_included: Mapped[bool] = mapped_column(Boolean)
    source_ref: Mapped[str | None] = mapped_column(String(400))
    mapping_version: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class PricePublication(Base):
    """What a shop connection was last sent for a SKU's price, and whether it is stale.

    ``fingerprint`` is the hash of the native fields last written: a push whose mapped
    fields hash the same is skipped, so an unchanged price is never written twice.
    """

    __tablename__ = "price_publications"
    __table_args__ = (
        UniqueConstraint("connection", "sku", name="uq_price_publications_key"),
        Index("ix_price_publications_dirty", "connection", "dirty"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(255))
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    dirty_since: Mapped[datetime | None] = mapped_column(Stamp, default=utcnow)
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    fingerprint: Mapped[str | None] = mapped_column(String(32))
    published: Mapped[str | None] = mapped_column(Text)
    """The native fields last written, as JSON (what the shop shows)."""
    published_at: Mapped[datetime | None] = mapped_column(Stamp)
    source_ref: Mapped[str | None] = mapped_column(String(400))


# --- customer identity (RCU): golden records, observed records, keys, merge journal, reviews --


class Customer(Base):
    """A golden record: one person. A merged one keeps its row, pointing at its winner."""

    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    """NULL while active; the winner's id after a merge (cleared again by an undo)."""
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class CustomerRecord(Base):
    """A customer as one channel knows it, with its normalised keys and the raw record."""

    __tablename__ = "customer_records"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_customer_records_source"),
        Index("ix_customer_records_weak", "name_key", "postcode_key"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    source_id: Mapped[str] = mapped_column(String(255))
    golden_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    loyalty_card: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    postcode: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(2))
    name_key: Mapped[str | None] = mapped_column(String(512))
    """Folded "first last" for weak matching only; never a merge key."""
    postcode_key: Mapped[str | None] = mapped_column(String(40))
    raw: Mapped[str] = mapped_column(Text)
    """The observed record as JSON."""
    content_hash: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    """JSON list: why a key was dropped (an invalid e-mail or phone)."""
    observed_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class CustomerKey(Base):
    """A strong identity key (loyalty, email, phone, channel): one key, one golden record."""

    __tablename__ = "customer_keys"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_customer_keys_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(400))
    golden_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("customer_records.id"))
    """The observed record that first brought this key."""
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class CustomerMerge(Base):
    """The merge journal: what moved from the loser to the winner, so it can be undone."""

    __tablename__ = "customer_merges"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    winner_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    loser_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    moved: Mapped[str] = mapped_column(Text)
    """JSON: the record ids and key ids moved, and both golden records' prior stamps."""
    reason: Mapped[str] = mapped_column(Text)
    review_id: Mapped[int | None] = mapped_column(BigInteger)
    """The review whose acceptance made this merge (reopened by an undo)."""
    at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(Stamp)


class CustomerReview(Base):
    """A weak match (same name and postcode, no strong key shared) waiting for a human."""

    __tablename__ = "customer_reviews"
    __table_args__ = (
        UniqueConstraint("record_id", "candidate_id", name="uq_customer_reviews_pair"),
        Index("ix_customer_reviews_status", "status"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("customer_records.id"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    reason: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="open")
    """open -> merged | rejected."""
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(Stamp)
