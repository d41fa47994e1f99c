"""A migrated database (SQLite and PostgreSQL) and helpers to read the identity tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from bridge.customers import ObservedCustomer, normalise
from bridge.store import db
from bridge.store.tables import (
    Customer,
    CustomerKey,
    CustomerMerge,
    CustomerRecord,
    CustomerReview,
)

STATE_TABLES = (Customer, CustomerRecord, CustomerKey, CustomerReview)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    try:
        yield db.session_factory(engine)
    finally:
        engine.dispose()


def snapshot(s: Session, tables: tuple[Any, ...] = STATE_TABLES) -> dict[str, list[dict]]:
    """Every row of the identity tables, in id order (what an undo must restore)."""
    out = {}
    for table in tables:
        t = table.__table__
        rows = s.execute(select(t).order_by(t.c.id)).mappings().all()
        out[t.name] = [dict(r) for r in rows]
    return out


def wipe(s: Session) -> None:
    """Empty the identity tables (one database serves many hypothesis examples)."""
    s.execute(delete(CustomerReview))
    s.execute(delete(CustomerMerge))
    s.execute(delete(CustomerKey))
    s.execute(delete(CustomerRecord))
    s.execute(update(Customer).values(merged_into=None))
    s.execute(delete(Customer))


def partition(s: Session) -> set[frozenset[tuple[str, str]]]:
    """The observed records grouped by golden record, as (source, source_id) pairs."""
    groups: dict[int, set[tuple[str, str]]] = {}
    rows = s.execute(
        select(CustomerRecord.golden_id, CustomerRecord.source, CustomerRecord.source_id)
    )
    for golden_id, source, source_id in rows:
        groups.setdefault(golden_id, set()).add((source, source_id))
    return {frozenset(g) for g in groups.values()}


def expected_partition(
    records: list[ObservedCustomer], region: str | None = None
) -> set[frozenset[tuple[str, str]]]:
    """Connected components of 'shares a strong key', computed without the database."""
    parent: dict[object, object] = {}

    def find(x: object) -> object:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for rec in records:
        node = ("record", rec.source, rec.source_id)
        for key in normalise(rec, region).keys:
            parent[find(node)] = find(("key", *key))
    groups: dict[object, set[tuple[str, str]]] = {}
    for rec in records:
        groups.setdefault(find(("record", rec.source, rec.source_id)), set()).add(
            (rec.source, rec.source_id)
        )
    return {frozenset(g) for g in groups.values()}


def check_invariants(s: Session) -> None:
    """Records and keys sit on active golden records; an active one has records."""
    active = set(s.scalars(select(Customer.id).where(Customer.merged_into.is_(None))))
    on_records = set(s.scalars(select(CustomerRecord.golden_id)))
    on_keys = set(s.scalars(select(CustomerKey.golden_id)))
    assert on_records <= active
    assert on_keys <= active
    assert active == on_records
