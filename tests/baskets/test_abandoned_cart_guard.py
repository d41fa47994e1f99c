"""The abandoned-cart guard, as a scripted journey: a web cart is abandoned, then the same
customer buys its items at a till -> no reminder; buys something else -> still actionable.
And the other order: bought in store first, abandoned later -> abandoned but not actionable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import responses

from bridge.baskets import flows, timers
from bridge.model import CustomerRef, Sale, SaleLine, SaleStatus, TicketKey
from bridge.sync import ingest
from tests.baskets.conftest import HOOK_URL
from tests.baskets.test_basket_journeys import T0, cart, delivered


@pytest.fixture(autouse=True)
def hooks():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, HOOK_URL, status=200)
        yield mock


def store_sale(seq: int, sku: str, qty: str, at: datetime) -> Sale:
    """A till ticket of a customer known by card, phone in national form and the e-mail
    the web cart carries (in other case)."""
    return Sale(
        key=TicketKey(store="1001", workstation="02", business_day=at.date(), sequence=str(seq)),
        status=SaleStatus.COMPLETED,
        currency="EUR",
        occurred_at=at,
        lines=(SaleLine(line_no="1", sku=sku, quantity=Decimal(qty)),),
        customer=CustomerRef(loyalty_card="CARD-0042", email="ada@example.COM"),
    )


def abandoned_topics(hooks) -> list[tuple[str, object]]:
    return [
        (e["topic"], e["data"]["detail"].get("actionable"))
        for e in delivered(hooks)
        if e["topic"] in ("basket.abandoned", "basket.purchased_in_store")
    ]


def test_bought_in_store_after_abandon_means_no_reminder(world, hooks) -> None:
    rt, till, shop, _ = world
    shop.push_basket(cart(qty="2"))
    ingest.poll(rt, "webshop", "feed")
    view = flows.by_source(rt, "webshop", "cart-1")
    golden = view["golden_id"]
    timers.tick(rt, now=T0 + timedelta(hours=2))
    assert [c["code"] for c in flows.abandoned_carts(rt, golden, only_actionable=True)] == [
        view["code"]
    ]
    assert abandoned_topics(hooks) == [("basket.abandoned", True)]

    till.push_sale(store_sale(1, "TSHIRT-RED-M", "2", T0 + timedelta(hours=5)))
    ingest.poll(rt, "tills", "feed")
    assert flows.abandoned_carts(rt, golden, only_actionable=True) == []
    (cart_view,) = flows.abandoned_carts(rt, golden, only_actionable=False)
    assert cart_view["actionable"] is False
    assert cart_view["bought_in_store_ref"].startswith("tills/1001/02/")
    assert abandoned_topics(hooks) == [
        ("basket.abandoned", True),
        ("basket.purchased_in_store", False),
    ]
    till.push_sale(store_sale(1, "TSHIRT-RED-M", "2", T0 + timedelta(hours=5)))
    ingest.poll(rt, "tills", "feed")  # the ticket again: no second event
    assert len(abandoned_topics(hooks)) == 2


def test_buying_something_else_keeps_the_reminder(world, hooks) -> None:
    rt, till, shop, _ = world
    shop.push_basket(cart(qty="2"))
    ingest.poll(rt, "webshop", "feed")
    golden = flows.by_source(rt, "webshop", "cart-1")["golden_id"]
    timers.tick(rt, now=T0 + timedelta(hours=2))
    till.push_sale(store_sale(1, "JEANS-32", "1", T0 + timedelta(hours=5)))
    till.push_sale(store_sale(2, "TSHIRT-RED-M", "1", T0 + timedelta(hours=6)))  # 1 of 2
    ingest.poll(rt, "tills", "feed")
    (still,) = flows.abandoned_carts(rt, golden, only_actionable=True)
    assert still["actionable"] is True and still["bought_in_store_ref"] is None
    assert abandoned_topics(hooks) == [("basket.abandoned", True)]


def test_bought_before_the_cart_is_abandoned(world, hooks) -> None:
    rt, till, shop, _ = world
    shop.push_basket(cart(qty="1"))
    ingest.poll(rt, "webshop", "feed")
    golden = flows.by_source(rt, "webshop", "cart-1")["golden_id"]
    till.push_sale(store_sale(1, "TSHIRT-RED-M", "1", T0 + timedelta(minutes=20)))
    ingest.poll(rt, "tills", "feed")
    timers.tick(rt, now=T0 + timedelta(hours=2))
    assert flows.abandoned_carts(rt, golden, only_actionable=True) == []
    assert abandoned_topics(hooks) == [
        ("basket.purchased_in_store", False),
        ("basket.abandoned", False),
    ]


def test_a_purchase_outside_the_window_does_not_count(tmp_path, database_url, hooks) -> None:
    from tests.baskets.conftest import make

    rt, till, shop, _ = make(tmp_path, database_url, guard_window_seconds=3600)
    try:
        shop.push_basket(cart(qty="1"))
        ingest.poll(rt, "webshop", "feed")
        golden = flows.by_source(rt, "webshop", "cart-1")["golden_id"]
        timers.tick(rt, now=T0 + timedelta(hours=2))
        till.push_sale(store_sale(1, "TSHIRT-RED-M", "1", T0 + timedelta(days=3)))
        ingest.poll(rt, "tills", "feed")
        assert len(flows.abandoned_carts(rt, golden, only_actionable=True)) == 1
    finally:
        rt.close()


def test_same_person_across_records_after_a_merge(world, hooks) -> None:
    """The cart was made under an account id only; the till knows a card only; an admin
    merges the two golden records: the guard follows the merge."""
    rt, till, shop, _ = world
    anonymous_cart = cart(qty="1").model_copy(update={"customer": CustomerRef(customer_id="c-9")})
    shop.push_basket(anonymous_cart)
    ingest.poll(rt, "webshop", "feed")
    web_golden = flows.by_source(rt, "webshop", "cart-1")["golden_id"]
    timers.tick(rt, now=T0 + timedelta(hours=2))
    sale = store_sale(1, "TSHIRT-RED-M", "1", T0 + timedelta(hours=3)).model_copy(
        update={"customer": CustomerRef(loyalty_card="CARD-7")}
    )
    till.push_sale(sale)
    ingest.poll(rt, "tills", "feed")
    assert len(flows.abandoned_carts(rt, web_golden, only_actionable=True)) == 1
    from bridge.customers import merge
    from bridge.customers.views import find

    with rt.transaction() as s:
        (store_golden,) = find(s, card="CARD-7")
        merge(s, web_golden, store_golden.id, "same person, checked by the store")
    assert flows.abandoned_carts(rt, web_golden, only_actionable=True) == []
    assert datetime.now(UTC) > T0  # the window is around the cart's activity, not now
