"""A web order returned at a store till, through the real sync use-cases (SQLite, PostgreSQL).

The till's return is ingested like any ticket; the order arrives as a Shopify order body
decoded by the Shopify connector. What is checked is what the state store and the shop end
up with: the link, the stock ledger, the ``returns`` outbox write, the price difference and
its event, and that replays change none of them.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from bridge.errors import DataError
from bridge.events.tables import EventRow
from bridge.model import Price, PriceEntry
from bridge.returns import matching
from bridge.returns.tables import StoreReturn, StoreReturnLine, WebOrderLine
from bridge.store.tables import DeadLetter, InboxRow, OutboxRow, StockMovementRow
from bridge.sync import apply, deadletters, push_prices, sweep
from bridge.sync.ledger import from_e4
from tests.returns.conftest import (
    PARIS_GID,
    SKU,
    TILL_SKU,
    World,
    shopify_order,
    store_return,
)

ORDER_ID = "820982911946154508"


def _state(world: World) -> dict[str, object]:
    """Everything a replay must leave as it is."""
    with world.rt.sessions() as s:
        returns = [
            (r.return_key, r.status, r.reason_code, r.outbox_id, r.difference, r.event_id)
            for r in s.scalars(select(StoreReturn).order_by(StoreReturn.id))
        ]
        returned = [
            (w.line_no, w.returned_e4) for w in s.scalars(select(WebOrderLine).order_by("id"))
        ]
        moves = [
            (m.movement_key, m.delta_e4)
            for m in s.scalars(select(StockMovementRow).order_by(StockMovementRow.id))
        ]
        outbox = [
            (o.idempotency_key, o.status) for o in s.scalars(select(OutboxRow).order_by("id"))
        ]
        events = [e.event_key for e in s.scalars(select(EventRow).order_by(EventRow.id))]
    return {
        "returns": returns,
        "returned": returned,
        "moves": moves,
        "outbox": outbox,
        "events": events,
        "shop": sorted(world.shop.marked),
        "shop_batches": len(world.shop.batches),
    }


def _price(world: World, amount: str, price_list: str = "paris") -> None:
    entry = PriceEntry(
        sku=SKU,
        price_list=price_list,
        price=Price(amount=Decimal(amount), currency="EUR", tax_included=True),
    )
    with world.rt.transaction() as s:
        push_prices.record_prices(s, world.rt.mapping.plan, [], [entry])


def test_a_web_order_returned_at_a_till_is_linked_restocked_once_and_marked_on_its_shop(
    world: World,
) -> None:
    world.order(shopify_order(lines=((SKU, 2, "30.00"),)))
    world.ring(store_return(7, "#1001"))

    (ret,) = world.rows(StoreReturn)
    assert (ret.status, ret.reason_code, ret.location) == ("matched", None, "PARIS-01")
    assert ret.shop_status == "done"
    (line,) = world.rows(StoreReturnLine)
    assert json.loads(line.allocations) == [{"line_no": "466157049", "quantity": "1"}]
    (web_line,) = world.rows(WebOrderLine)
    assert (web_line.quantity_e4, web_line.returned_e4) == (20000, 10000)

    # Restocked by the till's own return line, once: no movement of the returns domain.
    moves = world.rows(StockMovementRow)
    assert [(m.sku, m.location, m.delta_e4, m.reason) for m in moves] == [
        (SKU, "PARIS-01", 10000, "return")
    ]

    # One write to the shop that sold the order, with the shop's SKU and the till's refund.
    (out,) = world.rows(OutboxRow, OutboxRow.sink == "returns")
    assert (out.connection, out.status) == ("eshop", "sent")
    assert out.idempotency_key == f"eshop:returns:tills:{ret.ticket_key}:{ORDER_ID}"
    (batch,) = world.shop.batches
    (write,) = batch.items
    assert write.key == f"{ret.ticket_key}#{ORDER_ID}"
    assert write.order_reference == ORDER_ID
    assert [(w.sku, w.quantity, w.unit_price.amount) for w in write.lines] == [
        (SKU, Decimal(1), Decimal("30.00"))
    ]
    assert (write.refund.amount, write.refund.currency) == (Decimal("30.00"), "EUR")
    assert write.restocked_at == PARIS_GID
    # Same price in store and online: nothing to refund, no event.
    assert (ret.difference_status, Decimal(ret.difference)) == ("none", Decimal(0))
    assert world.count(EventRow) == 0

    before = _state(world)
    world.ring(store_return(7, "#1001"))  # the same ticket again (a replayed file)
    world.order(shopify_order(lines=((SKU, 2, "30.00"),)))  # the same order again
    assert _state(world) == before


def test_the_ticket_may_carry_the_link_and_the_till_may_type_the_number_loosely(
    world: World,
) -> None:
    world.order(shopify_order(number=1002, order_id=555))
    world.ring(store_return(8, " 01002 ", on_ticket=True))
    (ret,) = world.rows(StoreReturn)
    assert (ret.status, ret.reference, ret.alias) == ("matched", "01002", "1002")


def test_a_return_before_its_order_waits_unmatched_then_matches_when_the_order_arrives(
    world: World,
) -> None:
    world.ring(store_return(9, "#1001"))
    (ret,) = world.rows(StoreReturn)
    assert (ret.status, ret.reason_code, ret.shop_status) == ("unmatched", "unknown_order", "none")
    assert world.count(OutboxRow, OutboxRow.sink == "returns") == 0
    assert world.shop.batches == []
    # The till's return restocked the store anyway: the goods are there.
    assert [m.delta_e4 for m in world.rows(StockMovementRow)] == [10000]

    world.order(shopify_order())
    (ret,) = world.rows(StoreReturn)
    assert (ret.status, ret.reason_code, ret.attempts) == ("matched", None, 2)
    assert len(world.shop.marked) == 1
    before = _state(world)
    world.ring(store_return(9, "#1001"))
    world.order(shopify_order())
    assert _state(world) == before


def test_returns_in_several_visits_never_exceed_what_was_bought(world: World) -> None:
    world.order(shopify_order(lines=((SKU, 2, "30.00"),)))
    world.ring(store_return(1, "1001"))
    world.ring(store_return(2, "1001", lines=((TILL_SKU, "-2", "-60.00"),)))  # one too many
    world.ring(store_return(3, "1001"))
    world.ring(store_return(4, "1001"))  # nothing left

    returns = world.rows(StoreReturn)
    assert [(r.ticket_key.rsplit("/", 1)[1], r.status, r.reason_code) for r in returns] == [
        ("1", "matched", None),
        ("2", "unmatched", "over_return"),
        ("3", "matched", None),
        ("4", "unmatched", "over_return"),
    ]
    assert "only 1 of the 2 bought" in returns[1].reason
    assert "only 0 of the 2 bought" in returns[3].reason
    (web_line,) = world.rows(WebOrderLine)
    assert web_line.returned_e4 == web_line.quantity_e4 == 20000
    assert len(world.shop.marked) == 2
    # The over-returns are not lost: listed as unmatched, their goods in the store's stock.
    from bridge.returns.views import list_returns

    with world.rt.sessions() as s:
        waiting = list_returns(s, unmatched=True)
    assert [r["reason_code"] for r in waiting] == ["over_return", "over_return"]
    assert sum(m.delta_e4 for m in world.rows(StockMovementRow)) == 50000


def test_a_lower_store_price_flags_the_difference_once_with_one_event(world: World) -> None:
    _price(world, "24.00")  # the Paris list; the customer paid 30.00 online
    world.order(shopify_order(lines=((SKU, 3, "30.00"),)))
    world.ring(store_return(5, "#1001", lines=((TILL_SKU, "-2", "-48.00"),)))

    (ret,) = world.rows(StoreReturn)
    assert ret.difference_status == "flagged"
    assert (ret.paid, ret.refunded, ret.difference, ret.currency) == (
        "60.00",
        "48.00",
        "12.00",
        "EUR",
    )
    assert "store's price is lower" in ret.difference_cause
    (line,) = world.rows(StoreReturnLine)
    assert (line.paid, line.refunded, line.store_price) == ("60.00", "48.00", "24.00")
    (event,) = world.rows(EventRow)
    assert (event.topic, event.subject, event.id) == (
        "return.price_difference",
        f"return/{ret.id}",
        ret.event_id,
    )
    payload = json.loads(event.payload)
    assert (payload["difference"], payload["currency"], payload["order"]["number"]) == (
        "12.00",
        "EUR",
        "#1001",
    )
    assert ("brique.deliver_event", (event.id,)) in world.dispatcher.log

    before = _state(world)
    world.ring(store_return(5, "#1001", lines=((TILL_SKU, "-2", "-48.00"),)))
    assert _state(world) == before
    assert world.count(EventRow) == 1


def test_web_amounts_without_tax_are_compared_with_their_own_tax(world: World) -> None:
    # 25.00 + 5.00 of tax online (Shopify, taxes_included false), 30.00 refunded in store.
    world.order(shopify_order(lines=((SKU, 1, "25.00"),), taxes_included=False))
    world.ring(store_return(6, "#1001", lines=((TILL_SKU, "-1", "-30.00"),)))
    (ret,) = world.rows(StoreReturn)
    assert (ret.paid, ret.refunded, ret.difference_status) == ("30.00", "30.00", "none")


def test_another_currency_is_flagged_not_computed(world: World) -> None:
    world.order(shopify_order(currency="GBP"))
    world.ring(store_return(11, "#1001"))
    (ret,) = world.rows(StoreReturn)
    assert ret.status == "matched"
    assert (ret.difference_status, ret.difference, ret.paid) == ("currency_mismatch", None, None)
    assert "GBP" in ret.difference_cause
    assert world.count(EventRow) == 0


def test_what_cannot_match_says_why(world: World) -> None:
    world.order(shopify_order(number=1003, order_id=3, cancelled=True))
    world.order(shopify_order(number=1004, order_id=4, lines=(("OTHER-SKU", 1, "9.00"),)))
    world.ring(
        store_return(21, "1003"),
        store_return(22, "1004"),
        store_return(23, "9999"),
        store_return(24, None),  # a plain store return: not a web order's
    )
    returns = world.rows(StoreReturn)
    assert [(r.reference, r.reason_code) for r in returns] == [
        ("1003", "order_not_completed"),
        ("1004", "sku_not_on_order"),
        ("9999", "unknown_order"),
    ]
    assert world.shop.batches == []


def test_two_shops_with_the_same_number_are_ambiguous(world: World) -> None:
    world.order(shopify_order(number=1001, order_id=1))
    world.order(shopify_order(number=1001, order_id=2), connection="oscarshop")
    world.ring(store_return(12, "#1001"))
    (ret,) = world.rows(StoreReturn)
    assert ret.reason_code == "ambiguous"
    assert "on eshop" in ret.reason and "on oscarshop" in ret.reason


def test_a_shop_that_cannot_mark_returns_is_told_nothing_and_the_return_says_so(
    world: World,
) -> None:
    world.order(shopify_order(number=2001, order_id=21), connection="oscarshop")
    world.ring(store_return(13, "#2001"))
    (ret,) = world.rows(StoreReturn)
    assert (ret.status, ret.shop_status) == ("matched", "unsupported")
    assert "cannot mark returns" in ret.shop_detail
    (out,) = world.rows(OutboxRow, OutboxRow.sink == "returns")
    assert (out.connection, out.status) == ("oscarshop", "unsupported")
    assert world.count(DeadLetter) == 0


def test_a_refused_mark_is_a_dead_letter_and_its_replay_marks_it(world: World) -> None:
    world.order(shopify_order())
    key = f"1001/01/2026-11-23/14#{ORDER_ID}"
    world.shop.refuse[key] = "order is archived"
    world.ring(store_return(14, "#1001"))
    (ret,) = world.rows(StoreReturn)
    assert (ret.status, ret.shop_status, ret.shop_detail) == (
        "matched",
        "failed",
        "order is archived",
    )
    (dead,) = world.rows(DeadLetter)
    assert (dead.stage, dead.connection, dead.record, dead.actor) == (
        "returns",
        "eshop",
        key,
        "data owner",
    )
    replayed = deadletters.replay(world.rt, dead.id)
    assert "marked on eshop again" in replayed.what
    (ret,) = world.rows(StoreReturn)
    assert ret.shop_status == "done"
    assert list(world.shop.marked) == [key]
    first, second = world.rows(OutboxRow, OutboxRow.sink == "returns")
    assert (first.status, second.status) == ("sent", "sent")
    assert second.idempotency_key == f"{first.idempotency_key}#replay-{dead.id}"


def test_an_order_journaled_before_the_index_is_found_by_its_platform_id(world: World) -> None:
    world.order(shopify_order())
    with world.rt.transaction() as s:  # as if journaled before this feature existed
        from sqlalchemy import delete

        from bridge.returns.tables import WebOrder, WebOrderAlias

        s.execute(delete(WebOrderLine))
        s.execute(delete(WebOrderAlias))
        s.execute(delete(WebOrder))
    world.ring(store_return(15, ORDER_ID))
    (ret,) = world.rows(StoreReturn)
    assert ret.status == "matched"
    (web_line,) = world.rows(WebOrderLine)
    assert from_e4(web_line.returned_e4) == 1


def test_two_tills_returning_the_last_unit_at_once_match_only_one(world: World) -> None:
    world.order(shopify_order(lines=((SKU, 1, "30.00"),)))
    world.dispatcher.paused = True  # ingest only: the two tickets wait in the inbox
    world.ring(store_return(31, "#1001"), store_return(32, "#1001", store="2001"))
    with world.rt.sessions() as s:
        pending = list(s.scalars(select(InboxRow.id).where(InboxRow.status == "pending")))
    assert len(pending) == 2
    start = threading.Barrier(2)

    def process(inbox_id: int) -> None:
        start.wait()
        apply.process_inbox(world.rt, inbox_id)

    threads = [threading.Thread(target=process, args=(i,)) for i in pending]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    world.dispatcher.paused = False
    world.dispatcher.drain()
    statuses = sorted((r.status, r.reason_code or "") for r in world.rows(StoreReturn))
    assert statuses == [("matched", ""), ("unmatched", "over_return")]
    (web_line,) = world.rows(WebOrderLine)
    assert web_line.returned_e4 == 10000
    assert len(world.shop.marked) == 1


def test_a_return_the_hook_could_not_record_is_a_dead_letter_whose_replay_records_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.order(shopify_order())

    def broken(*args: object, **kwargs: object) -> None:
        raise DataError("the returns domain choked")

    monkeypatch.setattr(matching, "store_sale", broken)
    world.ring(store_return(41, "#1001"))
    assert world.count(StoreReturn) == 0
    # The sale itself is journaled and restocked: only the returns part waits.
    assert [m.delta_e4 for m in world.rows(StockMovementRow)] == [10000]
    (dead,) = world.rows(DeadLetter)
    assert (dead.stage, dead.record) == ("returns", f"inbox:{dead.ref_id}")
    monkeypatch.undo()
    replayed = deadletters.replay(world.rt, dead.id)
    assert "processed again" in replayed.what
    sweep.sweep(world.rt, stale_seconds=0)  # the sweeper re-queues the inbox row
    (ret,) = world.rows(StoreReturn)
    assert ret.status == "matched"
    assert [m.delta_e4 for m in world.rows(StockMovementRow)] == [10000]  # still once
