"""Customer identity (RCU): one golden record per person, built from what channels observe.

Rules:

* a **strong key** (loyalty card, e-mail, phone, channel id) points at exactly one golden
  record (unique ``(kind, value)``). An observed record sharing strong keys with several
  golden records merges them all into the oldest (lowest id), one journaled merge each;
* a **weak match** (same folded full name *and* postcode, no strong key shared) opens a
  review, never a merge; a name alone matches nothing;
* a merge is **undone** exactly: the records and keys it moved go back, both golden
  records get their stamps back, a review it came from is reopened.

Undo rule: a merge whose winner was later merged into another record (a later, not undone
merge has it as loser) is refused with :class:`UndoRefused` naming those merges: undo them
first, newest first (or pass ``cascade=True`` to do exactly that). Merges that are not
chained that way can be undone in any order.

Concurrency: every observation runs in a savepoint. New keys are claimed with
insert-if-absent in sorted order; a key a concurrent worker claimed first (PostgreSQL waits
for its commit) rolls the savepoint back and the observation is retried, now seeing that
key, so two workers never leave two golden records for one key. Golden records are locked
(``FOR UPDATE``, by id) before they are merged or attached to; one merged meanwhile also
means a retry. SQLite serialises writers (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bridge.customers.model import Normalised, ObservedCustomer, normalise, record_hash
from bridge.errors import BriqueError, TransientError
from bridge.store.tables import (
    Customer,
    CustomerKey,
    CustomerMerge,
    CustomerRecord,
    CustomerReview,
    utcnow,
)
from bridge.store.upsert import insert_ignore

MAX_ATTEMPTS = 8
WEAK_REASON = "same name and postcode"
BEST_FIELDS = (
    "loyalty_card",
    "email",
    "phone",
    "first_name",
    "last_name",
    "postcode",
    "country",
)
_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


class IdentityError(BriqueError):
    """A merge, undo or review that cannot be done as asked (the message says why)."""


class UndoRefused(IdentityError):
    """A later merge depends on this one: undo that one first."""


class _Retry(Exception):
    """A concurrent worker changed what this observation read: roll back and read again."""


# --- views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordView:
    id: int
    source: str
    source_id: str
    observed_at: datetime
    loyalty_card: str | None
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    postcode: str | None
    country: str | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class GoldenView:
    """A golden record: its keys, its observed records, and the best value of each field."""

    id: int
    created_at: datetime
    updated_at: datetime
    keys: tuple[tuple[str, str], ...]
    records: tuple[RecordView, ...]
    best: dict[str, str | None]
    """Per field, the value of the latest observation that has one."""
    merged: tuple[int, ...]
    """Golden records merged into this one (merges not undone)."""


@dataclass(frozen=True)
class ReviewView:
    id: int
    record_id: int
    source: str
    source_id: str
    golden_id: int
    """The golden record the reviewed record belongs to."""
    candidate_id: int
    """The golden record it may be the same person as (followed through merges)."""
    reason: str
    created_at: datetime


# --- observe ----------------------------------------------------------------------------------


def observe(s: Session, record: ObservedCustomer, *, region: str | None = None) -> int:
    """Record what a channel shows of a customer; return the id of its golden record.

    ``region`` is the store's phone region, used when the record has none. Observing the
    same record twice changes nothing.
    """
    norm = normalise(record, region)
    digest = record_hash(record, norm)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with s.begin_nested():
                return _observe(s, record, norm, digest)
        except _Retry:
            continue
        except OperationalError as exc:
            state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
            if attempt == MAX_ATTEMPTS or state not in _RETRYABLE_SQLSTATES:
                raise
    raise TransientError(
        f"customer {record.source}/{record.source_id}: concurrent observations kept "
        f"changing its keys ({MAX_ATTEMPTS} attempts); retry later"
    )


def _observe(s: Session, record: ObservedCustomer, norm: Normalised, digest: str) -> int:
    rec = s.scalar(
        select(CustomerRecord)
        .where(CustomerRecord.source == record.source)
        .where(CustomerRecord.source_id == record.source_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if rec is not None and rec.content_hash == digest:
        return rec.golden_id
    now = utcnow()
    owners = _owners(s, norm.keys)
    found = set(owners.values())
    if rec is not None:
        found.add(rec.golden_id)
    if found:
        goldens = _lock(s, found)
        if any(g.merged_into is not None for g in goldens.values()):
            raise _Retry  # merged by a concurrent worker since we read the keys
        winner = min(goldens)
        who = f"{record.source}/{record.source_id}"
        for loser in sorted(goldens)[1:]:
            kinds = sorted({kind for (kind, _), g in owners.items() if g == loser})
            reason = f"observed {who} shares {', '.join(kinds) or 'its record'} with both"
            _merge(s, goldens[winner], goldens[loser], reason, now)
        golden = goldens[winner]
    else:
        golden = Customer(created_at=now, updated_at=now)
        s.add(golden)
        s.flush()
    record_id = _upsert_record(s, rec, record, norm, digest, golden.id, now)
    for kind, value in norm.keys:
        if (kind, value) in owners:
            continue
        values = {
            "kind": kind,
            "value": value,
            "golden_id": golden.id,
            "record_id": record_id,
            "created_at": now,
        }
        if insert_ignore(s, CustomerKey, values, ("kind", "value")) is None:
            raise _Retry  # a concurrent worker claimed it first: read it and merge
    # A stamp of its own, so an undo of the merges above can tell this change happened.
    touched = utcnow()
    golden.updated_at = touched if touched != now else now + timedelta(microseconds=1)
    _weak_match(s, record_id, norm, golden.id, now)
    return golden.id


def _owners(s: Session, keys: tuple[tuple[str, str], ...]) -> dict[tuple[str, str], int]:
    if not keys:
        return {}
    by_kind: dict[str, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    found: dict[tuple[str, str], int] = {}
    for kind, values in by_kind.items():
        rows = s.execute(
            select(CustomerKey.value, CustomerKey.golden_id)
            .where(CustomerKey.kind == kind)
            .where(CustomerKey.value.in_(values))
        )
        found.update({(kind, v): g for v, g in rows})
    return found


def _lock(s: Session, ids: set[int]) -> dict[int, Customer]:
    """Lock golden records in id order (a fixed order: no deadlock between two lockers)."""
    rows = s.scalars(
        select(Customer)
        .where(Customer.id.in_(sorted(ids)))
        .order_by(Customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.id: row for row in rows}


def _upsert_record(
    s: Session,
    rec: CustomerRecord | None,
    record: ObservedCustomer,
    norm: Normalised,
    digest: str,
    golden_id: int,
    now: datetime,
) -> int:
    values = {
        "golden_id": golden_id,
        "loyalty_card": norm.loyalty_card,
        "email": norm.email,
        "phone": norm.phone,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "postcode": record.postcode,
        "country": record.country,
        "name_key": norm.name_key,
        "postcode_key": norm.postcode_key,
        "raw": record.model_dump_json(),
        "content_hash": digest,
        "notes": json.dumps(list(norm.notes)) if norm.notes else None,
        "observed_at": record.observed_at or now,
        "updated_at": now,
    }
    if rec is None:
        values |= {"source": record.source, "source_id": record.source_id, "recorded_at": now}
        record_id = insert_ignore(s, CustomerRecord, values, ("source", "source_id"))
        if record_id is None:
            raise _Retry  # the same record observed concurrently: read it
        return record_id
    for name, value in values.items():
        setattr(rec, name, value)
    s.flush()
    return rec.id


def _weak_match(s: Session, record_id: int, norm: Normalised, golden_id: int, now: datetime):
    if not norm.name_key or not norm.postcode_key:
        return  # a name alone never matches
    candidates = s.scalars(
        select(CustomerRecord.golden_id)
        .where(CustomerRecord.name_key == norm.name_key)
        .where(CustomerRecord.postcode_key == norm.postcode_key)
        .where(CustomerRecord.golden_id != golden_id)
        .distinct()
    ).all()
    for candidate in sorted(candidates):
        values = {
            "record_id": record_id,
            "candidate_id": candidate,
            "reason": WEAK_REASON,
            "status": "open",
            "created_at": now,
        }
        insert_ignore(s, CustomerReview, values, ("record_id", "candidate_id"))


# --- merge and undo ---------------------------------------------------------------------------


def merge(s: Session, winner: int, loser: int, reason: str = "manual merge") -> int:
    """Merge golden record ``loser`` into ``winner``; return the merge's journal id."""
    if winner == loser:
        raise IdentityError(f"cannot merge golden record {winner} into itself")
    goldens = _lock(s, {winner, loser})
    for gid in (winner, loser):
        _require_active(goldens, gid)
    return _merge(s, goldens[winner], goldens[loser], reason, utcnow())


def _require_active(goldens: dict[int, Customer], gid: int) -> None:
    if gid not in goldens:
        raise IdentityError(f"no golden record {gid}")
    if goldens[gid].merged_into is not None:
        raise IdentityError(
            f"golden record {gid} was merged into {goldens[gid].merged_into}; use that one"
        )


def _merge(
    s: Session,
    winner: Customer,
    loser: Customer,
    reason: str,
    now: datetime,
    review_id: int | None = None,
) -> int:
    records = list(
        s.scalars(
            select(CustomerRecord.id)
            .where(CustomerRecord.golden_id == loser.id)
            .order_by(CustomerRecord.id)
        )
    )
    keys = list(
        s.scalars(
            select(CustomerKey.id).where(CustomerKey.golden_id == loser.id).order_by(CustomerKey.id)
        )
    )
    moved = {
        "records": records,
        "keys": keys,
        "winner_updated_at": winner.updated_at.isoformat(),
        "loser_updated_at": loser.updated_at.isoformat(),
    }
    for table in (CustomerRecord, CustomerKey):
        s.execute(update(table).where(table.golden_id == loser.id).values(golden_id=winner.id))
    loser.merged_into = winner.id
    loser.updated_at = now
    winner.updated_at = now
    journal = CustomerMerge(
        winner_id=winner.id,
        loser_id=loser.id,
        moved=json.dumps(moved),
        reason=reason,
        review_id=review_id,
        at=now,
    )
    s.add(journal)
    s.flush()
    return journal.id


def undo(s: Session, merge_id: int, *, cascade: bool = False) -> list[int]:
    """Undo a merge exactly; return the merge ids undone, in the order they were undone.

    Refused (:class:`UndoRefused`) while a later merge moved this merge's winner into
    another golden record, unless ``cascade`` undoes those first (newest first).
    """
    m = s.get(CustomerMerge, merge_id, with_for_update=True, populate_existing=True)
    if m is None:
        raise IdentityError(f"no merge {merge_id}")
    if m.undone_at is not None:
        raise IdentityError(f"merge {merge_id} was already undone at {m.undone_at}")
    later = s.scalars(
        select(CustomerMerge)
        .where(CustomerMerge.id > m.id)
        .where(CustomerMerge.undone_at.is_(None))
        .where(CustomerMerge.loser_id == m.winner_id)
        .order_by(CustomerMerge.id.desc())
    ).all()
    done: list[int] = []
    if later:
        if not cascade:
            ids = ", ".join(str(d.id) for d in later)
            raise UndoRefused(
                f"merge {m.id} cannot be undone yet: later merge(s) {ids} moved golden record "
                f"{m.winner_id} (with what this merge gave it) into another one; undo them "
                f"first, newest first, or undo with cascade"
            )
        for dep in later:
            done += undo(s, dep.id, cascade=True)
    goldens = _lock(s, {m.winner_id, m.loser_id})
    winner, loser = goldens[m.winner_id], goldens[m.loser_id]
    moved = json.loads(m.moved)
    for table, ids in ((CustomerRecord, moved["records"]), (CustomerKey, moved["keys"])):
        if not ids:
            continue
        elsewhere = s.scalar(
            select(table.id).where(table.id.in_(ids)).where(table.golden_id != winner.id).limit(1)
        )
        if elsewhere is not None:
            raise IdentityError(
                f"merge {m.id} cannot be undone: {table.__tablename__} row {elsewhere} is no "
                f"longer on golden record {winner.id}"
            )
        s.execute(update(table).where(table.id.in_(ids)).values(golden_id=loser.id))
    now = utcnow()
    loser.merged_into = None
    loser.updated_at = datetime.fromisoformat(moved["loser_updated_at"])
    # The winner gets its stamp back unless something else changed it since this merge.
    unchanged = winner.updated_at == m.at
    winner.updated_at = datetime.fromisoformat(moved["winner_updated_at"]) if unchanged else now
    m.undone_at = now
    if m.review_id is not None:
        review = s.get(CustomerReview, m.review_id, populate_existing=True)
        if review is not None:
            review.status, review.resolved_at = "open", None
    s.flush()
    return [*done, m.id]


# --- reviews ----------------------------------------------------------------------------------


def resolve_review(s: Session, review_id: int, accept: bool) -> int | None:
    """Accept (merge; return the merge id) or reject a weak match. Only open reviews."""
    review = s.get(CustomerReview, review_id, with_for_update=True, populate_existing=True)
    if review is None:
        raise IdentityError(f"no review {review_id}")
    if review.status != "open":
        raise IdentityError(f"review {review_id} is already {review.status}")
    now = utcnow()
    review.resolved_at = now
    if not accept:
        review.status = "rejected"
        return None
    review.status = "merged"
    own = s.scalar(select(CustomerRecord.golden_id).where(CustomerRecord.id == review.record_id))
    candidate = _active_id(s, review.candidate_id)
    assert own is not None
    if own == candidate:
        return None  # already the same golden record (a strong key joined them since)
    goldens = _lock(s, {own, candidate})
    for gid in (own, candidate):
        _require_active(goldens, gid)
    winner, loser = min(own, candidate), max(own, candidate)
    reason = f"review {review_id} accepted: {review.reason}"
    return _merge(s, goldens[winner], goldens[loser], reason, now, review_id=review_id)


def open_reviews(s: Session) -> list[ReviewView]:
    """Open weak matches, oldest first; candidates followed through merges."""
    rows = s.execute(
        select(CustomerReview, CustomerRecord)
        .join(CustomerRecord, CustomerRecord.id == CustomerReview.record_id)
        .where(CustomerReview.status == "open")
        .order_by(CustomerReview.id)
    ).all()
    return [
        ReviewView(
            id=review.id,
            record_id=rec.id,
            source=rec.source,
            source_id=rec.source_id,
            golden_id=rec.golden_id,
            candidate_id=_active_id(s, review.candidate_id),
            reason=review.reason,
            created_at=review.created_at,
        )
        for review, rec in rows
    ]


def _active_id(s: Session, golden_id: int) -> int:
    """Follow ``merged_into`` to the golden record that is active now."""
    seen = set()
    current = golden_id
    while True:
        if current in seen:
            raise IdentityError(f"golden record {golden_id}: merge cycle through {sorted(seen)}")
        seen.add(current)
        row = s.execute(select(Customer.merged_into).where(Customer.id == current)).first()
        if row is None:
            raise IdentityError(f"no golden record {golden_id}")
        if row.merged_into is None:
            return current
        current = row.merged_into


# --- read -------------------------------------------------------------------------------------


def golden(s: Session, golden_id: int) -> GoldenView:
    """The golden record a customer id stands for now (merged ids lead to their winner)."""
    gid = _active_id(s, golden_id)
    customer = s.get(Customer, gid, populate_existing=True)
    assert customer is not None
    keys = s.execute(
        select(CustomerKey.kind, CustomerKey.value)
        .where(CustomerKey.golden_id == gid)
        .order_by(CustomerKey.kind, CustomerKey.value)
    ).all()
    rows = s.scalars(
        select(CustomerRecord)
        .where(CustomerRecord.golden_id == gid)
        .order_by(CustomerRecord.observed_at, CustomerRecord.id)
        .execution_options(populate_existing=True)
    ).all()
    records = tuple(
        RecordView(
            id=r.id,
            source=r.source,
            source_id=r.source_id,
            observed_at=r.observed_at,
            loyalty_card=r.loyalty_card,
            email=r.email,
            phone=r.phone,
            first_name=r.first_name,
            last_name=r.last_name,
            postcode=r.postcode,
            country=r.country,
            notes=tuple(json.loads(r.notes)) if r.notes else (),
        )
        for r in rows
    )
    best: dict[str, str | None] = {}
    for name in BEST_FIELDS:
        best[name] = next(
            (getattr(r, name) for r in reversed(records) if getattr(r, name) is not None), None
        )
    merged = s.scalars(
        select(CustomerMerge.loser_id)
        .where(CustomerMerge.winner_id == gid)
        .where(CustomerMerge.undone_at.is_(None))
        .order_by(CustomerMerge.id)
    ).all()
    return GoldenView(
        id=gid,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        keys=tuple((k, v) for k, v in keys),
        records=records,
        best=best,
        merged=tuple(merged),
    )
