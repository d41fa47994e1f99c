"""A web order's versions in the sales journal.

A POS ticket is a fiscal record and never changes; a web order does (a quantity edited, a
cancellation, a shipment). The journal keeps both: ``sales`` holds the order's latest
version (status, payload, content hash, version number), ``sale_versions`` every version in
the order it arrived, the first included. A version is a change of content, or of what
the shop says of the goods beyond it (shipped: ``fulfilled``; which store: ``store``), read
from its native order by the mapping since the canonical sale has no field for them. The
same again, the same inbox event again, or an event older than the latest version (a
replayed dead letter, a late redelivery) records nothing.

"Older" means an inbox row received before the one that made the latest version: polled
and webhook sources put a shop's observations in the inbox in the order they were made.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bridge.model import Sale, content_hash
from bridge.orders.tables import SaleVersionRow
from bridge.store.tables import InboxRow, SaleRow
from bridge.store.upsert import insert_ignore


@dataclass(frozen=True)
class Version:
    """What the journal made of one arrival of a web order."""

    sale_id: int
    number: int
    """The order's latest version number after this arrival."""
    recorded: bool
    """True when this arrival is a new version (the first one included)."""
    status: str
    previous_status: str | None
    fulfilled: bool
    store: str | None
    """The shop's id of the fulfilling store its order names (``orders.<shop>.store_from``)."""


def record(
    s: Session,
    inbox: InboxRow,
    sale: Sale,
    journaled: int | None,
    fulfilled: bool = False,
    store: str | None = None,
) -> Version:
    """Record ``sale`` (canonical, as journaled) as its order's next version if it is one.

    ``journaled`` is the ``sales`` id when the caller's insert just created the row (the
    first version), None when the order was journaled before.
    """
    digest = content_hash(sale)
    status = sale.status.value
    if journaled is not None:
        _append(s, journaled, 1, sale, digest, inbox.id, None, fulfilled, store)
        return Version(journaled, 1, True, status, None, fulfilled, store)
    row = s.scalar(
        select(SaleRow)
        .where(SaleRow.connection == inbox.connection, SaleRow.ticket_key == sale.key.as_string())
        .with_for_update()
    )
    if row is None:  # the caller inserted or found it in this transaction: cannot happen
        raise LookupError(f"{inbox.connection} {sale.key.as_string()} is not journaled")
    latest = s.scalar(
        select(SaleVersionRow)
        .where(SaleVersionRow.sale_id == row.id)
        .order_by(SaleVersionRow.version.desc())
        .limit(1)
    )
    if latest is None:  # journaled as a store ticket, or before versions existed
        latest = _append_row(s, row)
    unchanged = Version(
        row.id, latest.version, False, latest.status, None, latest.fulfilled, latest.store
    )
    if (digest, fulfilled, store) == (latest.content_hash, latest.fulfilled, latest.store):
        return unchanged
    if latest.inbox_id is not None and inbox.id <= latest.inbox_id:
        return unchanged  # this event, or one older than the latest version
    number = latest.version + 1
    appended = _append(s, row.id, number, sale, digest, inbox.id, latest.status, fulfilled, store)
    if appended is None:
        return unchanged  # a concurrent transaction recorded this version first
    s.execute(
        update(SaleRow)
        .where(SaleRow.id == row.id)
        .values(
            status=status,
            payload=sale.model_dump_json(),
            content_hash=digest,
            occurred_at=sale.occurred_at,
            inbox_id=inbox.id,
            version=number,
        )
    )
    return Version(row.id, number, True, status, latest.status, fulfilled, store)


def _append(
    s: Session,
    sale_id: int,
    number: int,
    sale: Sale,
    digest: str,
    inbox_id: int,
    previous: str | None,
    fulfilled: bool,
    store: str | None,
) -> int | None:
    return insert_ignore(
        s,
        SaleVersionRow,
        {
            "sale_id": sale_id,
            "version": number,
            "status": sale.status.value,
            "previous_status": previous,
            "fulfilled": fulfilled,
            "store": store,
            "content_hash": digest,
            "payload": sale.model_dump_json(),
            "inbox_id": inbox_id,
        },
        ("sale_id", "version"),
    )


def _append_row(s: Session, row: SaleRow) -> SaleVersionRow:
    """Version 1 from the journal row itself (an order journaled before versions)."""
    first = SaleVersionRow(
        sale_id=row.id,
        version=row.version or 1,
        status=row.status,
        previous_status=None,
        fulfilled=False,
        store=None,
        content_hash=row.content_hash,
        payload=row.payload,
        inbox_id=row.inbox_id,
        recorded_at=row.recorded_at,
    )
    s.add(first)
    s.flush()
    return first


def versions(s: Session, sale_id: int) -> list[SaleVersionRow]:
    """An order's versions, first to latest."""
    return list(
        s.scalars(
            select(SaleVersionRow)
            .where(SaleVersionRow.sale_id == sale_id)
            .order_by(SaleVersionRow.version)
        )
    )
