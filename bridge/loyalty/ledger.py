"""The points ledger: append-only entries, one balance per golden customer.

Why balances follow merges exactly: an entry made by a sale points at the observed customer
record the sale came from. A merge moves records to the winner and its undo moves them
back, so summing the entries of the records a golden record holds *now* gives the merged
balance after a merge and the split balances after the undo, with no entry ever rewritten.
Entries without a record (manual adjustments) belong to the golden record they were made on,
followed through ``merged_into``: they join the winner while a merge stands and come back
with the undo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bridge.errors import BriqueError
from bridge.loyalty.tables import LoyaltyEntryRow
from bridge.store.tables import Customer, CustomerRecord, utcnow
from bridge.store.upsert import insert_ignore
from bridge.sync.ledger import from_e4, to_e4

MAX_POINTS = Decimal(10) ** 12
"""Larger is a misread figure, not a balance (and would not fit the ledger's integers)."""


class LoyaltyError(BriqueError):
    """A request on the ledger that cannot be done as asked (the message says why)."""


class UnknownCustomer(LoyaltyError):
    """No golden record with that id."""


def active_id(s: Session, golden_id: int) -> int:
    """The golden record an id stands for now (a merged one leads to its winner)."""
    seen: set[int] = set()
    current = golden_id
    while current not in seen:
        seen.add(current)
        row = s.execute(select(Customer.merged_into).where(Customer.id == current)).first()
        if row is None:
            raise UnknownCustomer(f"no golden record {golden_id}")
        if row.merged_into is None:
            return current
        current = row.merged_into
    raise LoyaltyError(f"golden record {golden_id}: merge cycle through {sorted(seen)}")


def members(s: Session, golden_id: int) -> set[int]:
    """``golden_id`` and every golden record merged into it, directly or through others."""
    found = {golden_id}
    frontier = {golden_id}
    while frontier:
        rows = set(s.scalars(select(Customer.id).where(Customer.merged_into.in_(frontier))))
        frontier = rows - found
        found |= frontier
    return found


def _owned(s: Session, golden_id: int):
    """The entries that count for an active golden record."""
    return or_(
        and_(
            LoyaltyEntryRow.record_id.is_not(None),
            LoyaltyEntryRow.record_id.in_(
                select(CustomerRecord.id).where(CustomerRecord.golden_id == golden_id)
            ),
        ),
        and_(
            LoyaltyEntryRow.record_id.is_(None),
            LoyaltyEntryRow.golden_id.in_(sorted(members(s, golden_id))),
        ),
    )


def balance_e4(s: Session, golden_id: int) -> int:
    """The balance of an *active* golden record, in 1/10,000 points."""
    total = s.scalar(
        select(func.coalesce(func.sum(LoyaltyEntryRow.points_e4), 0)).where(_owned(s, golden_id))
    )
    return int(total or 0)


def balance(s: Session, golden_id: int) -> Decimal:
    return from_e4(balance_e4(s, golden_id))


def entries(s: Session, golden_id: int) -> list[LoyaltyEntryRow]:
    """The entries of an active golden record, oldest first."""
    return list(
        s.scalars(select(LoyaltyEntryRow).where(_owned(s, golden_id)).order_by(LoyaltyEntryRow.id))
    )


@dataclass(frozen=True)
class NewEntry:
    key: str
    golden_id: int
    record_id: int | None
    kind: str
    origin: str
    points: Decimal
    connection: str | None = None
    ticket_key: str | None = None
    line_no: str | None = None
    quantity: Decimal | None = None
    link_key: str | None = None
    channel: str | None = None
    basis: Decimal | None = None
    currency: str | None = None
    reason: str | None = None
    mapping_version: str | None = None
    occurred_at: datetime | None = None


def _values(entry: NewEntry) -> dict[str, object]:
    if entry.points.copy_abs() > MAX_POINTS:
        raise LoyaltyError(f"{entry.key}: {entry.points} points is beyond any real balance")
    try:
        points = to_e4(entry.points)
        quantity = None if entry.quantity is None else to_e4(entry.quantity)
    except ValueError as exc:
        raise LoyaltyError(f"{entry.key}: {exc}") from exc
    return {
        "entry_key": entry.key,
        "golden_id": entry.golden_id,
        "record_id": entry.record_id,
        "kind": entry.kind,
        "origin": entry.origin,
        "points_e4": points,
        "connection": entry.connection,
        "ticket_key": entry.ticket_key,
        "line_no": entry.line_no,
        "quantity_e4": quantity,
        "link_key": entry.link_key,
        "channel": entry.channel,
        "basis": None if entry.basis is None else format(entry.basis, "f"),
        "currency": entry.currency,
        "reason": entry.reason,
        "mapping_version": entry.mapping_version,
        "occurred_at": entry.occurred_at,
        "created_at": utcnow(),
    }


def append(s: Session, entry: NewEntry) -> int | None:
    """Insert one entry unless its key exists; its id, or None for a repeat."""
    return insert_ignore(s, LoyaltyEntryRow, _values(entry), ("entry_key",))


def append_all(s: Session, new: Sequence[NewEntry]) -> int:
    """Insert a sale's entries in one statement, skipping keys already there; how many
    were new (a replayed sale: 0)."""
    if not new:
        return 0
    rows = [_values(entry) for entry in new]
    builder = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        builder(LoyaltyEntryRow)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["entry_key"])
        .returning(LoyaltyEntryRow.id)
    )
    return len(s.execute(stmt).scalars().all())


@dataclass(frozen=True)
class Adjusted:
    entry_id: int
    golden_id: int
    created: bool
    """False when the key was used before (the same adjustment, not applied twice)."""


def adjust(s: Session, golden_id: int, points: Decimal, reason: str, key: str) -> Adjusted:
    """A manual correction, idempotent by ``key``: the same key again changes nothing, the
    same key with other points or another customer is refused."""
    if not key.strip():
        raise LoyaltyError("an adjustment needs a key (it makes a repeat harmless)")
    if not reason.strip():
        raise LoyaltyError("an adjustment needs a reason")
    if points == 0:
        raise LoyaltyError("an adjustment of 0 points changes nothing")
    target = active_id(s, golden_id)
    entry_key = f"adjust:{key.strip()}"
    new = append(
        s,
        NewEntry(
            key=entry_key,
            golden_id=target,
            record_id=None,
            kind="adjust",
            origin="manual",
            points=points,
            reason=reason.strip(),
        ),
    )
    if new is not None:
        return Adjusted(new, target, True)
    row = s.scalar(select(LoyaltyEntryRow).where(LoyaltyEntryRow.entry_key == entry_key))
    assert row is not None
    if row.points_e4 != to_e4(points) or active_id(s, row.golden_id) != target:
        raise LoyaltyError(
            f"key {key!r} was used for {from_e4(row.points_e4)} points on golden record "
            f"{row.golden_id}: use a new key for another adjustment"
        )
    return Adjusted(row.id, target, False)
