"""Merge rules as properties: order does not matter, undo restores exactly (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from bridge.customers import ObservedCustomer, merge, observe, undo
from bridge.store import db
from tests.customers.conftest import (
    check_invariants,
    expected_partition,
    partition,
    snapshot,
    wipe,
)

PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Small pools, so that records share keys often; spellings differ, keys do not.
EMAILS = [None, "ann@x.fr", " ANN@x.fr", "bob@y.com", "carl@z.org", "not-an-email"]
PHONES = [None, "06 12 34 56 78", "+33612345678", "0033 6 98 76 54 32", "+44 7911 123456", "12"]
CARDS = [None, "C1", " C1", "C2", "C3"]
NAMES = [(None, None), ("Ann", "Lee"), ("ann", "LÉE"), ("Bob", "Ray")]
POSTCODES = [None, "75011", "75 011", "69001"]

records = st.builds(
    lambda source, source_id, email, phone, card, name, postcode, xref: ObservedCustomer(
        source=source,
        source_id=source_id,
        email=email,
        phone=phone,
        loyalty_card=card,
        first_name=name[0],
        last_name=name[1],
        postcode=postcode,
        channel_ids=xref,
    ),
    source=st.sampled_from(["tills", "webshop"]),
    source_id=st.sampled_from([str(i) for i in range(1, 7)]),
    email=st.sampled_from(EMAILS),
    phone=st.sampled_from(PHONES),
    card=st.sampled_from(CARDS),
    name=st.sampled_from(NAMES),
    postcode=st.sampled_from(POSTCODES),
    xref=st.dictionaries(
        st.sampled_from(["tills", "webshop"]),
        st.sampled_from([str(i) for i in range(1, 7)]),
        max_size=1,
    ),
)


def observe_all(sessions: sessionmaker[Session], batch: list[ObservedCustomer]) -> None:
    with db.transaction(sessions) as s:
        wipe(s)
    for record in batch:
        with db.transaction(sessions) as s:
            observe(s, record, region="FR")


@PROPERTY
@given(batch=st.lists(records, min_size=1, max_size=10), data=st.data())
def test_merging_is_order_independent(
    sessions: sessionmaker[Session], batch: list[ObservedCustomer], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(batch), label="order")
    expected = expected_partition(batch, "FR")
    assert expected_partition(shuffled, "FR") == expected
    for order in (batch, shuffled):
        observe_all(sessions, order)
        with sessions() as s:
            assert partition(s) == expected
            check_invariants(s)


@PROPERTY
@given(
    size=st.integers(min_value=2, max_value=7),
    pairs=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=8),
)
def test_undoing_all_merges_in_reverse_order_restores_the_state_exactly(
    sessions: sessionmaker[Session], size: int, pairs: list[tuple[int, int]]
) -> None:
    # Initial inserts: people without a shared strong key, some with the same name (reviews).
    people = [
        ObservedCustomer(
            source="tills" if i % 2 else "webshop",
            source_id=str(i),
            email=f"p{i}@x.fr",
            phone=f"06123456{i:02d}",
            loyalty_card=f"C{i}",
            first_name="Ann",
            last_name="Lee",
            postcode="75011" if i % 3 else None,
        )
        for i in range(size)
    ]
    observe_all(sessions, people)
    with sessions() as s:
        before = snapshot(s)
    golden_of = [row["golden_id"] for row in before["customer_records"]]
    merges: list[int] = []
    with db.transaction(sessions) as s:
        for i, j in pairs:
            winner, loser = golden_of[i % size], golden_of[j % size]
            if winner != loser:
                merges.append(merge(s, winner, loser, reason="property"))
                golden_of = [winner if g == loser else g for g in golden_of]
    with sessions() as s:
        assert len(partition(s)) == len(set(golden_of))
        check_invariants(s)
    for merge_id in reversed(merges):
        with db.transaction(sessions) as s:
            assert undo(s, merge_id) == [merge_id]
    with sessions() as s:
        assert snapshot(s) == before
