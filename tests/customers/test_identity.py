"""Golden records from observed customers: strong keys merge, weak matches wait for review."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bridge.customers import (
    IdentityError,
    ObservedCustomer,
    UndoRefused,
    golden,
    merge,
    observe,
    open_reviews,
    resolve_review,
    undo,
)
from bridge.store import db
from bridge.store.tables import Customer, CustomerMerge, CustomerRecord, CustomerReview
from tests.customers.conftest import check_invariants, partition, snapshot

Sessions = sessionmaker[Session]


def c(source: str, source_id: str, **kw: object) -> ObservedCustomer:
    return ObservedCustomer(source=source, source_id=source_id, **kw)


def see(sessions: Sessions, *records: ObservedCustomer, region: str | None = "FR") -> list[int]:
    out = []
    for record in records:
        with db.transaction(sessions) as s:
            out.append(observe(s, record, region=region))
    return out


def count(sessions: Sessions, model: type) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def state(sessions: Sessions) -> dict:
    with sessions() as s:
        return snapshot(s)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"loyalty_card": "CARD-1"}, {"loyalty_card": " CARD-1 "}),
        ({"email": "Jean@Example.fr"}, {"email": " jean@example.FR"}),
        ({"phone": "06 12 34 56 78"}, {"phone": "+33612345678"}),
        ({}, {"channel_ids": {"tills": "42"}}),
    ],
    ids=["loyalty", "email", "phone", "channel"],
)
def test_a_shared_strong_key_is_one_golden_record(
    sessions: Sessions, first: dict, second: dict
) -> None:
    a, b = see(sessions, c("tills", "42", **first), c("webshop", "9", **second))
    assert a == b
    assert count(sessions, Customer) == 1
    assert count(sessions, CustomerMerge) == 0  # attached, nothing to merge


def test_different_keys_are_different_people(sessions: Sessions) -> None:
    a, b = see(
        sessions,
        c("tills", "1", email="a@x.fr", loyalty_card="C1"),
        c("tills", "2", email="b@x.fr", loyalty_card="c1"),  # cards are exact: case matters
    )
    assert a != b


def test_a_record_bridging_three_golden_records_merges_them_into_the_oldest(
    sessions: Sessions,
) -> None:
    g1, g2, g3 = see(
        sessions,
        c("tills", "1", loyalty_card="C1"),
        c("webshop", "7", email="zoe@x.fr"),
        c("tills", "2", phone="0612345678"),
    )
    assert len({g1, g2, g3}) == 3
    (bridge,) = see(
        sessions,
        c("webshop", "8", loyalty_card="C1", email="ZOE@x.fr", phone="+33 6 12 34 56 78"),
    )
    assert bridge == min(g1, g2, g3) == g1
    with sessions() as s:
        view = golden(s, g3)  # a merged id leads to the winner
        merges = s.scalars(select(CustomerMerge).order_by(CustomerMerge.id)).all()
        check_invariants(s)
    assert view.id == g1
    assert {(r.source, r.source_id) for r in view.records} == {
        ("tills", "1"),
        ("webshop", "7"),
        ("tills", "2"),
        ("webshop", "8"),
    }
    assert set(view.keys) >= {("loyalty", "C1"), ("email", "zoe@x.fr"), ("phone", "+33612345678")}
    assert set(view.merged) == {g2, g3}
    assert [(m.winner_id, m.loser_id) for m in merges] == [(g1, g2), (g1, g3)]
    assert "shares email" in merges[0].reason and "shares phone" in merges[1].reason


def test_transitive_chain_merges_when_the_link_arrives(sessions: Sessions) -> None:
    see(
        sessions,
        c("tills", "1", loyalty_card="C1", email="a@x.fr"),
        c("tills", "2", email="b@x.fr", phone="0611111111"),
        c("webshop", "3", phone="0622222222"),
    )
    assert count(sessions, Customer) == 3
    see(sessions, c("webshop", "4", email="a@x.fr", phone="0622222222"))
    see(sessions, c("webshop", "5", email="b@x.fr", loyalty_card="C1"))
    with sessions() as s:
        assert len(partition(s)) == 1
        check_invariants(s)


def test_same_name_and_postcode_opens_a_review_and_never_merges(sessions: Sessions) -> None:
    a, b = see(
        sessions,
        c("tills", "1", first_name="Zoé", last_name="Martin", postcode="75011", email="z@x.fr"),
        c("webshop", "2", first_name="ZOE", last_name="martin ", postcode=" 75011"),
    )
    assert a != b
    with sessions() as s:
        (review,) = open_reviews(s)
    assert (review.source, review.source_id, review.golden_id) == ("webshop", "2", b)
    assert review.candidate_id == a and review.reason == "same name and postcode"
    see(sessions, c("webshop", "2", first_name="ZOE", last_name="martin ", postcode=" 75011"))
    assert count(sessions, CustomerReview) == 1  # the same observation again: no new review


def test_a_name_alone_never_matches(sessions: Sessions) -> None:
    a, b, d = see(
        sessions,
        c("tills", "1", first_name="Zoé", last_name="Martin", postcode="75011"),
        c("tills", "2", first_name="Zoé", last_name="Martin"),
        c("tills", "3", first_name="Zoé", last_name="Martin", postcode="69001"),
    )
    assert len({a, b, d}) == 3
    assert count(sessions, CustomerReview) == 0
    assert count(sessions, CustomerMerge) == 0


def test_observing_the_same_record_twice_changes_nothing(sessions: Sessions) -> None:
    record = c("tills", "1", email="a@x.fr", phone="0612345678", first_name="Zoé")
    see(sessions, record)
    before = state(sessions)
    assert see(sessions, record, record) == [before["customers"][0]["id"]] * 2
    assert state(sessions) == before


def test_a_changed_record_is_updated_and_its_new_keys_join(sessions: Sessions) -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    later = datetime(2026, 6, 1, tzinfo=UTC)
    (g,) = see(sessions, c("tills", "1", email="old@x.fr", first_name="Zo", observed_at=first))
    see(sessions, c("webshop", "5", email="NEW@x.fr", first_name="Zoe", postcode="75011"))
    assert see(sessions, c("tills", "1", email="new@x.fr", observed_at=later)) == [g]
    with sessions() as s:
        view = golden(s, g)
    assert count(sessions, CustomerRecord) == 2
    assert view.best["email"] == "new@x.fr"  # the latest observation wins
    assert view.best["first_name"] == "Zoe"  # ... field by field (tills/1 has none now)
    assert view.best["postcode"] == "75011"
    assert {v for k, v in view.keys if k == "email"} == {"old@x.fr", "new@x.fr"}


def test_invalid_keys_are_dropped_and_noted_the_record_is_kept(sessions: Sessions) -> None:
    (g,) = see(sessions, c("tills", "1", email="nope", phone="0690123456"), region="FR")
    with sessions() as s:
        view = golden(s, g)
    (record,) = view.records
    assert record.email is None and record.phone is None
    assert [n.split(":")[0] for n in record.notes] == ["email", "phone"]
    assert view.keys == (("channel", "tills:1"),)
    # The same digits in a Guadeloupe store are a valid phone.
    (h,) = see(sessions, c("tills", "2", phone="0690123456"), region="GP")
    with sessions() as s:
        assert ("phone", "+590690123456") in golden(s, h).keys


def test_undo_restores_exactly_what_the_merge_moved(sessions: Sessions) -> None:
    a, b = see(
        sessions,
        c("tills", "1", email="a@x.fr", first_name="Ann", last_name="Lee", postcode="1000"),
        c("tills", "2", phone="0612345678"),
    )
    see(sessions, c("webshop", "3", phone="0612345678", first_name="Ann", last_name="Lee"))
    see(sessions, c("webshop", "4", first_name="ann", last_name="LEE", postcode="1000"))
    before = state(sessions)
    with db.transaction(sessions) as s:
        mid = merge(s, b, a, reason="same person, says the store")
    with sessions() as s:
        assert partition(s) == {
            frozenset({("tills", "1"), ("tills", "2"), ("webshop", "3")}),
            frozenset({("webshop", "4")}),
        }
    assert state(sessions) != before
    with db.transaction(sessions) as s:
        assert undo(s, mid) == [mid]
    assert state(sessions) == before
    with pytest.raises(IdentityError, match="already undone"), db.transaction(sessions) as s:
        undo(s, mid)


def test_undo_of_an_observation_merge_gives_each_back_its_records(sessions: Sessions) -> None:
    g1, g2 = see(sessions, c("tills", "1", email="a@x.fr"), c("tills", "2", phone="0612345678"))
    before = state(sessions)
    see(sessions, c("webshop", "3", email="a@x.fr", phone="0612345678"))
    with db.transaction(sessions) as s:
        (m,) = s.scalars(select(CustomerMerge.id)).all()
        undo(s, m)
    with sessions() as s:
        assert golden(s, g1).records[0].source_id == "1"
        assert [r.source_id for r in golden(s, g1).records] == ["1", "3"]
        assert [r.source_id for r in golden(s, g2).records] == ["2"]
        after = snapshot(s)
    assert after["customers"][1] == before["customers"][1]  # the loser, exactly
    assert after["customer_records"][:2] == before["customer_records"]


def test_undo_refuses_while_a_later_merge_depends_on_it(sessions: Sessions) -> None:
    a, b, d = see(
        sessions,
        c("tills", "1", email="a@x.fr"),
        c("tills", "2", email="b@x.fr"),
        c("tills", "3", email="d@x.fr"),
    )
    before = state(sessions)
    with db.transaction(sessions) as s:
        m1 = merge(s, b, a)  # a's records go to b ...
        m2 = merge(s, d, b)  # ... then b (with a's) goes to d
    with pytest.raises(UndoRefused, match=f"merge\\(s\\) {m2}"), db.transaction(sessions) as s:
        undo(s, m1)
    with db.transaction(sessions) as s:
        assert undo(s, m1, cascade=True) == [m2, m1]
    assert state(sessions) == before
    with pytest.raises(IdentityError, match="was merged into"), db.transaction(sessions) as s:
        m3 = merge(s, a, b)
        merge(s, b, d)  # b is not active any more
    with db.transaction(sessions) as s:
        m3 = merge(s, a, b)
        m4 = merge(s, a, d)  # independent of m3: any order
        undo(s, m3)
        undo(s, m4)
    after = state(sessions)
    # Out of order, records and keys come back exactly; the winner's stamp becomes the undo's.
    for snap in (before, after):
        for row in snap["customers"]:
            if row["id"] == a:
                row.pop("updated_at")
    assert after == before


def test_reviews_accept_merges_reject_does_not_and_undo_reopens(sessions: Sessions) -> None:
    a, b, d = see(
        sessions,
        c("tills", "1", first_name="Ann", last_name="Lee", postcode="1000"),
        c("webshop", "2", first_name="Ann", last_name="Lee", postcode="1000"),
        c("webshop", "3", first_name="Ann", last_name="Lee", postcode="1000"),
    )
    with sessions() as s:
        reviews = open_reviews(s)
    assert [(r.golden_id, r.candidate_id) for r in reviews] == [(b, a), (d, a), (d, b)]
    before = state(sessions)
    with db.transaction(sessions) as s:
        mid = resolve_review(s, reviews[0].id, accept=True)
        assert resolve_review(s, reviews[1].id, accept=False) is None
    with sessions() as s:
        assert golden(s, b).id == a
        assert [r.id for r in open_reviews(s)] == [reviews[2].id]
        assert open_reviews(s)[0].candidate_id == a  # followed through the merge
    with pytest.raises(IdentityError, match="already rejected"), db.transaction(sessions) as s:
        resolve_review(s, reviews[1].id, accept=True)
    with db.transaction(sessions) as s:
        assert mid is not None
        undo(s, mid)
    after = state(sessions)
    assert after["customer_reviews"][0] == before["customer_reviews"][0]  # open again
    assert after["customer_reviews"][1]["status"] == "rejected"
    assert {k: v for k, v in after.items() if k != "customer_reviews"} == {
        k: v for k, v in before.items() if k != "customer_reviews"
    }


def test_merge_errors_are_clear(sessions: Sessions) -> None:
    (a,) = see(sessions, c("tills", "1"))
    with pytest.raises(IdentityError, match="into itself"), db.transaction(sessions) as s:
        merge(s, a, a)
    with pytest.raises(IdentityError, match="no golden record"), db.transaction(sessions) as s:
        merge(s, a, a + 1000)
    with pytest.raises(IdentityError, match="no merge"), db.transaction(sessions) as s:
        undo(s, 12345)


# --- concurrency ------------------------------------------------------------------------------


def test_two_workers_sharing_a_key_make_one_golden_record(
    sessions: Sessions, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker A has claimed the e-mail but not committed when worker B reads the keys."""
    from bridge.customers import identity

    attempts: list[str] = []
    real = identity._observe

    def spy(s, record, norm, digest):  # type: ignore[no-untyped-def]
        attempts.append(record.source)
        return real(s, record, norm, digest)

    monkeypatch.setattr(identity, "_observe", spy)
    a_claimed, b_started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def worker_a() -> None:
        try:
            with db.transaction(sessions) as s:
                observe(s, c("tills", "1", email="same@x.fr", loyalty_card="C1"))
                a_claimed.set()
                b_started.wait(5)
                threading.Event().wait(0.3)  # B is now inside its observation
        except BaseException as exc:
            errors.append(exc)

    def worker_b() -> None:
        try:
            a_claimed.wait(5)
            b_started.set()
            with db.transaction(sessions) as s:
                observe(s, c("webshop", "2", email="SAME@x.fr", phone="0612345678"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker_a), threading.Thread(target=worker_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    if database_url.startswith("postgresql"):
        # B read no key, made a golden record, then lost the e-mail to A: rolled back, retried.
        assert attempts == ["tills", "webshop", "webshop"]
    else:
        assert attempts == ["tills", "webshop"]  # SQLite: B's transaction waited for A's
    assert count(sessions, Customer) == 1  # B's provisional golden record is gone
    with sessions() as s:
        assert partition(s) == {frozenset({("tills", "1"), ("webshop", "2")})}
        check_invariants(s)


def test_many_workers_observing_overlapping_keys_agree(sessions: Sessions) -> None:
    from tests.customers.conftest import expected_partition

    records = [
        c(
            "tills" if i % 2 else "webshop",
            str(i),
            email=f"p{i % 5}@x.fr",
            loyalty_card=f"C{i % 7}",
            phone=f"061234567{i % 3}",
        )
        for i in range(24)
    ]
    chunks = [records[i::4] for i in range(4)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(chunk: list[ObservedCustomer]) -> None:
        try:
            barrier.wait(10)
            for record in chunk:
                with db.transaction(sessions) as s:
                    observe(s, record, region="FR")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with sessions() as s:
        assert partition(s) == expected_partition(records, "FR")
        check_invariants(s)
