"""Balances follow merges exactly, and undoing them restores the split (hypothesis).

A model of the ledger runs beside the database: a sale's points belong to the customer
record that made it, an adjustment to the golden record it was made on; a golden record's
balance is the sum over every golden record merged into it. Random sales, adjustments,
merges and undos must keep the database equal to the model after every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from bridge.customers import ObservedCustomer, merge, observe, undo
from bridge.loyalty import ledger
from bridge.loyalty.tables import (
    LoyaltyEntryRow,
    LoyaltyMergeSeen,
    LoyaltyPublication,
    LoyaltyPublished,
)
from bridge.store import db
from bridge.store.tables import CustomerRecord
from tests.customers.conftest import wipe

PEOPLE = 4
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("sale"), st.integers(0, PEOPLE - 1), st.integers(-20, 100)),
        st.tuples(st.just("adjust"), st.integers(0, PEOPLE - 1), st.integers(-20, 20)),
        st.tuples(st.just("merge"), st.integers(0, PEOPLE - 1), st.integers(0, PEOPLE - 1)),
        st.tuples(st.just("undo"), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=14,
)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    db.upgrade(database_url)
    engine = db.make_engine(database_url)
    try:
        yield db.session_factory(engine)
    finally:
        engine.dispose()


class Model:
    def __init__(self, goldens: list[int]) -> None:
        self.own = {g: 0 for g in goldens}
        self.parent: dict[int, int] = {}
        self.merges: list[tuple[int, int, int]] = []  # (merge id, winner, loser)

    def root(self, g: int) -> int:
        while g in self.parent:
            g = self.parent[g]
        return g

    def balance(self, g: int) -> int:
        r = self.root(g)
        return sum(v for k, v in self.own.items() if self.root(k) == r)


def _reset(sessions: sessionmaker[Session]) -> tuple[list[int], list[int]]:
    with db.transaction(sessions) as s:
        for table in (LoyaltyEntryRow, LoyaltyMergeSeen, LoyaltyPublication, LoyaltyPublished):
            s.execute(delete(table))
        wipe(s)
    goldens, records = [], []
    for i in range(PEOPLE):
        with db.transaction(sessions) as s:
            goldens.append(
                observe(
                    s, ObservedCustomer(source="tills", source_id=f"P{i}", loyalty_card=f"C{i}")
                )
            )
            records.append(
                s.scalar(select(CustomerRecord.id).where(CustomerRecord.source_id == f"P{i}"))
            )
    return goldens, records


def _check(s: Session, model: Model, goldens: list[int]) -> None:
    roots = set()
    for g in goldens:
        active = ledger.active_id(s, g)
        assert active == model.root(g)
        assert ledger.balance(s, active) == model.balance(g), g
        roots.add(active)
    total = s.scalar(select(func.coalesce(func.sum(LoyaltyEntryRow.points_e4), 0)))
    assert sum(ledger.balance_e4(s, r) for r in roots) == total


@PROPERTY
@given(steps=ops)
# A sale by the merged-away customer's record while the merge stands, then the undo: the
# points must go back with the record, not stay with the golden record it was made on.
@example(steps=[("merge", 0, 1), ("sale", 1, 5), ("adjust", 1, 3), ("undo", 0, 0)])
def test_balances_follow_merges_and_undos_exactly(
    sessions: sessionmaker[Session], steps: list[tuple[str, int, int]]
) -> None:
    goldens, records = _reset(sessions)
    model = Model(goldens)
    for n, (op, a, b) in enumerate(steps):
        with db.transaction(sessions) as s:
            if op == "sale":
                rec = s.get(CustomerRecord, records[a])
                assert rec is not None
                ledger.append(
                    s,
                    ledger.NewEntry(
                        key=f"sale-{n}",
                        golden_id=rec.golden_id,
                        record_id=rec.id,
                        kind="earn" if b >= 0 else "redeem",
                        origin="computed",
                        points=Decimal(b),
                    ),
                )
                model.own[goldens[a]] += b
            elif op == "adjust" and b != 0:
                made = ledger.adjust(s, goldens[a], Decimal(b), "property", f"adj-{n}")
                assert made.golden_id == model.root(goldens[a])
                model.own[made.golden_id] += b
            elif op == "merge":
                winner, loser = model.root(goldens[a]), model.root(goldens[b])
                if winner != loser:
                    merge_id = merge(s, winner, loser, "property")
                    model.parent[loser] = winner
                    model.merges.append((merge_id, winner, loser))
            elif op == "undo" and model.merges:
                merge_id, _, loser = model.merges.pop()
                assert undo(s, merge_id) == [merge_id]
                del model.parent[loser]
        with sessions() as s:
            _check(s, model, goldens)
    while model.merges:  # undo everything left: every customer gets exactly its own back
        merge_id, _, loser = model.merges.pop()
        with db.transaction(sessions) as s:
            undo(s, merge_id)
        del model.parent[loser]
    with sessions() as s:
        for g in goldens:
            assert ledger.active_id(s, g) == g
            assert ledger.balance(s, g) == model.own[g]
