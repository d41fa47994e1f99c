"""A web order holds stock at its store: placed, edited, cancelled, shipped, replayed.

Runs on SQLite and PostgreSQL. Shop ``webshop`` sends orders; shop ``other`` publishes
the same stores and must sell only what is left; till ``tills`` shows the holds.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bridge.errors import TransientError
from bridge.orders.tables import HoldPublication, OrderHoldRow, WebOrderRow
from bridge.store.tables import DeadLetter, InboxRow, OutboxRow, SaleRow
from bridge.sync import apply, deadletters
from tests.orders.support import LYON, MAPPING, PARIS, SKU, World, make_world

HOLD = ("webshop:100#1", SKU, "1001")
"""The till's view of order 100's line 1 at Paris (sale point 1001)."""


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    world = make_world(tmp_path, database_url)
    world.count(PARIS, "10")
    world.count(LYON, "5")
    yield world
    world.rt.close()


def test_a_placed_order_holds_its_lines_at_the_default_store(world: World) -> None:
    assert world.other.levels[(SKU, "O1")] == 10
    world.order("100", (SKU, "2"))
    assert world.stock(PARIS) == (10, 2)  # on hand unchanged, 2 held
    assert world.other.levels[(SKU, "O1")] == 8  # the other channel sells what is left
    assert world.shop.levels[(SKU, "P1")] == 10  # the ordering shop counts its own order
    assert world.till.holding() == {HOLD: 2}
    assert world.movements() == [
        ("webshop:web/tx/100:1:TSHIRT-RED-M@PARIS-01:v1", "reservation", 2),
    ]
    (item,) = world.till.batches[-1].items
    assert item.reference == "Order/web/tx/100" and item.location == "1001"


def test_the_ordering_shop_is_never_told_its_own_holds(world: World) -> None:
    """A recount pushes to every shop: the ordering shop, which subtracts its open orders
    itself, gets on hand; the other gets on hand less the hold."""
    world.order("100", (SKU, "2"))
    world.count(PARIS, "9")
    assert world.stock(PARIS) == (9, 2)
    assert world.shop.levels[(SKU, "P1")] == 9
    assert world.other.levels[(SKU, "O1")] == 7


def test_an_edited_order_moves_its_hold_by_the_difference(world: World) -> None:
    world.order("100", (SKU, "2"), (SKU, "1"))
    world.order("100", (SKU, "3"), state="Modifying")  # line 1 up, line 2 gone
    assert world.stock(PARIS) == (10, 3)
    assert world.other.levels[(SKU, "O1")] == 7
    assert world.till.holding() == {HOLD: 3}
    assert world.till.held[("webshop:100#2", SKU, "1001")] == 0
    assert world.movements()[2:] == [
        ("webshop:web/tx/100:1:TSHIRT-RED-M@PARIS-01:v2", "reservation", 1),
        ("webshop:web/tx/100:2:TSHIRT-RED-M@PARIS-01:v2", "release", -1),
    ]


def test_a_cancelled_order_releases_its_hold(world: World) -> None:
    world.order("100", (SKU, "2"))
    world.order("100", (SKU, "2"), status="cancelled", state="Cancelled")
    assert world.stock(PARIS) == (10, 0)
    assert world.other.levels[(SKU, "O1")] == 10
    assert world.till.holding() == {}
    with world.rt.sessions() as s:
        (order,) = s.scalars(select(WebOrderRow)).all()
    assert (order.state, order.version, order.location) == ("cancelled", 2, PARIS)


def test_a_shipped_order_releases_its_hold_and_is_sold_once(world: World) -> None:
    world.order("100", (SKU, "2"))
    world.order("100", (SKU, "2"), state="Shipped")
    assert world.stock(PARIS) == (8, 0)
    assert world.other.levels[(SKU, "O1")] == 8
    assert world.shop.levels[(SKU, "P1")] == 8  # on hand moved: every shop is told
    assert world.till.holding() == {}
    sold = [m for m in world.movements() if m[1] == "sale"]
    assert sold == [("webshop:web/tx/100:1:TSHIRT-RED-M@PARIS-01:sold", "sale", -2)]
    # delivered later, then refunded and cancelled: journaled, the stock does not move
    world.order("100", (SKU, "2"), state="DELIVERED")
    world.order("100", (SKU, "2"), status="cancelled", state="Cancelled")
    assert world.stock(PARIS) == (8, 0)
    assert [m for m in world.movements() if m[1] == "sale"] == sold
    with world.rt.sessions() as s:
        row = s.scalar(select(SaleRow))
        assert row is not None and (row.status, row.version) == ("cancelled", 3)


def test_an_order_shipped_at_first_sight_is_sold_without_a_hold(world: World) -> None:
    world.order("101", (SKU, "1"), state="Shipped")
    assert world.stock(PARIS) == (9, 0)
    assert world.till.batches == []  # nothing was ever held: the till has nothing to hear
    assert [m[1] for m in world.movements()] == ["sale"]


def test_replays_change_nothing(world: World) -> None:
    world.order("100", (SKU, "2"))
    again = world.order("100", (SKU, "2"))  # the same event key: the inbox drops it
    assert again.accepted == [] and again.duplicates == 1
    same = world.order("100", (SKU, "2"), key="order/100/re-read")  # same content, new key
    assert len(same.accepted) == 1
    world.order("100", (SKU, "3"), state="Modifying")
    before = (world.stock(PARIS), world.movements(), dict(world.till.held))
    batches = len(world.till.batches)
    # an old version comes back (a dead letter replayed, a late redelivery)
    with world.rt.transaction() as s:
        s.execute(update(InboxRow).where(InboxRow.id == 1).values(status="pending"))
    assert apply.process_inbox(world.rt, 1) == []
    assert apply.process_inbox(world.rt, 3) == []  # already done
    assert (world.stock(PARIS), world.movements(), dict(world.till.held)) == before
    assert len(world.till.batches) == batches
    with world.rt.sessions() as s:
        assert s.scalar(select(SaleRow.version)) == 2


def test_the_order_names_its_store(world: World) -> None:
    world.order("102", (SKU, "2"), store="L2")  # the shop's id for Lyon
    assert world.stock(LYON) == (5, 2) and world.stock(PARIS) == (10, 0)
    assert world.other.levels[(SKU, "O2")] == 3
    assert world.till.holding() == {("webshop:102#1", SKU, "1002"): 2}


def test_store_from_reads_the_native_order(tmp_path: Path, database_url: str) -> None:
    mapping = MAPPING.replace("    store: PARIS-01\n", "    store_from: pickup.id\n")
    world = make_world(tmp_path, database_url, mapping)
    try:
        world.order("103", (SKU, "1"), pickup={"id": "L2"})
        assert world.stock(LYON) == (0, 1)
        assert world.till.holding() == {("webshop:103#1", SKU, "1002"): 1}
        # the shop moves the pickup to Paris: held there, released in Lyon
        world.order("103", (SKU, "1"), pickup={"id": "P1"}, state="Moved")
        assert world.stock(LYON) == (0, 0) and world.stock(PARIS) == (0, 1)
        assert world.till.holding() == {("webshop:103#1", SKU, "1001"): 1}
        world.order("104", (SKU, "1"), pickup={"id": "NOWHERE"})
        world.order("105", (SKU, "1"))  # no pickup, order store "web" unmapped, no default
        with world.rt.sessions() as s:
            dead = s.scalars(select(DeadLetter).order_by(DeadLetter.id)).all()
        assert [d.record for d in dead] == [
            "order/104/new/PaymentSettled",
            "order/105/new/PaymentSettled",
        ]
        assert (
            "webshop order 104 is fulfilled by webshop store 'NOWHERE' (pickup.id)" in dead[0].error
        )
        assert "webshop order 105: no store fulfils it" in dead[1].error
        assert "'orders.webshop.store' is not set" in dead[1].error
        assert world.count_rows(SaleRow) == 1  # dead-lettered orders are not journaled
    finally:
        world.rt.close()


def test_an_unknown_store_dead_letters_the_order_and_replays_once_mapped(
    tmp_path: Path, database_url: str
) -> None:
    mapping = MAPPING.replace("    store: PARIS-01\n", "")
    world = make_world(tmp_path, database_url, mapping)
    try:
        world.count(PARIS, "4")
        world.order("106", (SKU, "1"))
        with world.rt.sessions() as s:
            (dead,) = s.scalars(select(DeadLetter)).all()
        assert dead.stage == "inbox" and dead.actor == "data owner"
        assert dead.record == "order/106/new/PaymentSettled"
        assert "webshop order 106: no store fulfils it: its store id 'web'" in dead.error
        (world.tmp / "mapping.yaml").write_text(MAPPING)
        world.rt.mapping.reload_if_changed()
        deadletters.replay(world.rt, dead.id)
        assert world.stock(PARIS) == (4, 1)
    finally:
        world.rt.close()


def test_a_test_order_holds_nothing(world: World) -> None:
    world.order("107", (SKU, "2"), status="test")
    assert world.stock(PARIS) == (10, 0)
    assert world.movements() == []


def test_a_shop_without_orders_settings_only_journals(world: World) -> None:
    world.other.pending.append(
        ("order/9", {"number": "9", "lines": [{"id": 1, "sku": SKU, "qty": "1"}]})
    )
    from bridge.sync import ingest

    ingest.poll(world.rt, "other", "orders")
    assert world.stock(PARIS) == (10, 0) and world.count_rows(WebOrderRow) == 0
    assert world.count_rows(SaleRow) == 1


def test_a_refused_hold_is_dead_lettered_and_replayed(world: World) -> None:
    world.till.refuse.add(SKU)
    world.order("100", (SKU, "2"))
    assert world.stock(PARIS) == (10, 2)  # Brique holds it whatever the till says
    with world.rt.sessions() as s:
        (dead,) = s.scalars(select(DeadLetter)).all()
        pub = s.scalar(select(HoldPublication))
    assert dead.stage == "reservations" and dead.connection == "tills"
    assert dead.record == "webshop:100#1:TSHIRT-RED-M@1001 (PARIS-01)"
    assert "no product TSHIRT-RED-M" in dead.error
    assert pub is not None and pub.error and pub.claimed_by is None
    world.till.refuse.clear()
    deadletters.replay(world.rt, dead.id)
    assert world.till.holding() == {HOLD: 2}


def test_a_batch_refused_as_a_whole_is_dead_lettered_and_replayed(world: World) -> None:
    from bridge.errors import DataError

    world.till.fail_next.append(DataError("bad batch"))
    world.order("100", (SKU, "2"))
    with world.rt.sessions() as s:
        (dead,) = s.scalars(select(DeadLetter)).all()
        (row,) = s.scalars(select(OutboxRow).where(OutboxRow.sink == "reservations")).all()
    assert (dead.stage, dead.ref_id, row.status) == ("outbox", row.id, "dead")
    assert world.till.holding() == {}
    world.order("101", (SKU, "1"))  # the next push is not the same write again
    assert world.till.holding() == {("webshop:101#1", SKU, "1001"): 1}
    deadletters.replay(world.rt, dead.id)  # the refused row itself is sent again
    assert world.till.holding() == {HOLD: 2, ("webshop:101#1", SKU, "1001"): 1}
    with world.rt.sessions() as s:
        pubs = s.scalars(select(HoldPublication).order_by(HoldPublication.id)).all()
    assert [(p.published_e4, p.claimed_by, p.error) for p in pubs] == [
        (20000, None, None),
        (10000, None, None),
    ]


def test_a_till_down_keeps_the_hold_pending_and_the_resend_delivers_it(world: World) -> None:
    world.till.fail_next.append(TransientError("till offline"))
    with pytest.raises(TransientError):
        world.order("100", (SKU, "2"))
    assert world.stock(PARIS) == (10, 2) and world.till.holding() == {}
    with world.rt.sessions() as s:
        (row,) = s.scalars(select(OutboxRow).where(OutboxRow.sink == "reservations")).all()
    assert row.status == "pending"
    from bridge.sync import sweep

    sweep.sweep(world.rt, stale_seconds=0)
    assert world.till.holding() == {HOLD: 2}
    with world.rt.sessions() as s:
        held = s.scalar(select(OrderHoldRow))
        pub = s.scalar(select(HoldPublication))
    assert held is not None and pub is not None
    assert (pub.published_version, pub.published_e4) == (held.version, held.held_e4)


def test_a_lost_followup_is_found_by_the_sweeper(world: World) -> None:
    from bridge.sync import sweep

    world.dispatcher.paused = True
    world.order("100", (SKU, "2"))
    with world.rt.sessions() as s:
        pending = s.scalar(select(InboxRow.id).where(InboxRow.status == "pending"))
    assert pending is not None
    apply.process_inbox(world.rt, pending)
    world.dispatcher.queue.clear()  # the follow-up messages are lost
    world.dispatcher.paused = False
    assert world.stock(PARIS) == (10, 2) and world.till.holding() == {}
    sweep.sweep(world.rt, stale_seconds=0)
    assert world.till.holding() == {HOLD: 2}
    again = sweep.sweep(world.rt, stale_seconds=0)
    assert again.pushes == 0 and again.domains["reservations"] == 0  # nothing left behind


def test_quantities_keep_four_decimals(world: World) -> None:
    world.count(PARIS, "10.5", sku="COFFEE")
    world.order("108", ("COFFEE", "0.25"))
    assert world.stock(PARIS, "COFFEE") == (Decimal("10.5"), Decimal("0.25"))
    world.order("109", ("COFFEE", "0.00001"))
    with world.rt.sessions() as s:
        (dead,) = s.scalars(select(DeadLetter)).all()
    assert "web/tx/109 line 1: quantity 0.00001 has more than 4 decimals" in dead.error
