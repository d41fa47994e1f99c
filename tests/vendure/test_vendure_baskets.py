"""Vendure baskets over the scripted Admin and Shop APIs (``vendure_fake``): active orders read
as baskets, handed-off baskets opened as active orders and cancelled, orders naming their
basket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bridge.connector import BasketWrite, ConnectorContext, InboundEvent, WriteBatch
from bridge.errors import ConfigError, DataError
from bridge.http import without_backoff
from bridge.model import BasketBody, BasketLine, BasketStatus, CustomerRef, Money
from connectors.vendure import VendureConnector
from connectors.vendure.baskets import ORDER_ENTITY, SESSION_ENTITY
from tests.vendure.vendure_fake import PASSWORD, SHOP_URL, T0, URL, USER, FakeVendure

SKU = "SKU-TSHIRT-BLUE"
OTHER = "SKU-OTHER"
RESUME = "https://shop.example.com/basket/resume?token={token}&order={order}&handoff={code}"


@pytest.fixture
def shop() -> Iterator[FakeVendure]:
    fake = FakeVendure()
    fake.add_variant(SKU, stock=10)
    fake.add_variant(OTHER, stock=5)
    with without_backoff(), fake.serving():
        yield fake


def make(**overrides: object) -> VendureConnector:
    settings = {"admin_api_url": URL, "username": USER, "password": PASSWORD, "basket_url": RESUME}
    settings.update(overrides)
    return VendureConnector.from_settings(settings, ConnectorContext("webshop"))


def opening(code: str, *lines: tuple[str, int], **extra: Any) -> BasketWrite:
    return BasketWrite(
        code=code,
        currency="EUR",
        lines=tuple(BasketLine(sku=sku, quantity=Decimal(q)) for sku, q in lines),
        **extra,
    )


def baskets(conn: VendureConnector, cursor: str | None = None) -> list[Any]:
    return [e for page in conn.read("baskets", cursor) for e in page.events]


def decoded(conn: VendureConnector, event: Any) -> Any:
    (body,) = conn.decode(event)
    assert isinstance(body, BasketBody)
    return body.basket


def held(shop: FakeVendure, order_code: str) -> dict[str, int]:
    (order,) = [o for o in shop.orders.values() if o["code"] == order_code]
    return {shop.variants[v]["sku"]: q for v, q, _ in order["lines"]}


# -- read -----------------------------------------------------------------------------------


def test_active_orders_are_read_as_baskets(shop: FakeVendure) -> None:
    shop.add_order("CART1", [("1", 2, 2379), ("2", 1, 1190)], state="AddingItems")
    shop.add_order("PLACED1", [("1", 1, 2379)], state="PaymentSettled")
    shop.add_order("CART2", [("2", 3, 1190)], state="ArrangingPayment", email="")
    conn = make()
    assert list(conn.streams()) == ["orders", "baskets"]
    events = baskets(conn)
    assert [e.key.split("@")[0] for e in events] == ["basket/CART1", "basket/CART2"]
    first = decoded(conn, events[0])
    assert first.basket_id == "CART1" and first.status is BasketStatus.ACTIVE
    assert first.channel == "web" and first.currency == "EUR" and first.code is None
    assert [(line.sku, line.quantity, line.unit_price) for line in first.lines] == [
        (SKU, Decimal(2), Money(amount=Decimal("23.79"), currency="EUR")),
        (OTHER, Decimal(1), Money(amount=Decimal("11.90"), currency="EUR")),
    ]
    assert first.customer is not None and first.customer.email == "jane@example.com"
    assert first.customer.channel_ids == {"vendure": "1"}
    assert first.kind is None  # Vendure has no wish lists: every basket is a cart
    assert decoded(conn, events[1]).customer is None


def test_a_change_is_a_new_event_and_a_replay_is_not(shop: FakeVendure) -> None:
    order = shop.add_order("CART1", [("1", 2, 2379)], state="AddingItems", updated=T0)
    conn = make()
    (first,) = baskets(conn)
    cursor = list(conn.read("baskets"))[-1].cursor
    assert baskets(conn, cursor) == []  # nothing changed: nothing read again
    # a change within the same second keeps updatedAt (SQLite): still read, with a new key
    shop.orders[order]["lines"] = [("1", 3, 2379)]
    (same_second,) = baskets(conn, cursor)
    assert same_second.key != first.key and same_second.key.startswith(f"basket/CART1@{T0:%Y}")
    assert decoded(conn, same_second).lines[0].quantity == Decimal(3)
    # a later change moves the keyset
    cursor = list(conn.read("baskets", cursor))[-1].cursor
    shop.orders[order]["updated"] = T0 + timedelta(seconds=5)
    shop.orders[order]["lines"] = [("1", 4, 2379)]
    (later,) = baskets(conn, cursor)
    assert later.key not in (first.key, same_second.key)


def test_reading_baskets_can_be_turned_off() -> None:
    conn = make(read_baskets=False)
    assert list(conn.streams()) == ["orders"]


# -- open -----------------------------------------------------------------------------------


def test_open_creates_an_active_order_in_a_session_and_links_it(shop: FakeVendure) -> None:
    conn = make()
    customer = CustomerRef(email="jane@example.com", name="Jane Doe")
    item = opening("H7K2M9", (SKU, 2), (OTHER, 1), customer=customer)
    result = conn.write("baskets", WriteBatch("b1", [item]))
    assert result.written == 1 and not result.failed
    observed = result.observed["H7K2M9"]
    code = observed["id"]
    assert held(shop, code) == {SKU: 2, OTHER: 1}
    (order,) = [o for o in shop.orders.values() if o["code"] == code]
    assert order["state"] == "AddingItems" and order["email"] == "jane@example.com"
    url = urlsplit(observed["url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "shop.example.com", "/basket/resume")
    query = parse_qs(url.query)
    assert query["order"] == [code] and query["handoff"] == ["H7K2M9"]
    (token,) = query["token"]
    assert shop.shop_sessions[token] == order["id"]  # the link's token holds the order
    bindings = conn.context.bindings
    assert bindings.get_external(SESSION_ENTITY, "H7K2M9") == token
    assert bindings.get_external(ORDER_ENTITY, "H7K2M9") == code
    # the basket stream echoes the handoff code of a basket Brique opened
    (event,) = baskets(conn)
    assert decoded(conn, event).code == "H7K2M9"


def test_opening_again_returns_the_same_order_and_changes_nothing(shop: FakeVendure) -> None:
    conn = make()
    item = opening("H7K2M9", (SKU, 2))
    first = conn.write("baskets", WriteBatch("b1", [item])).observed["H7K2M9"]
    orders, calls = len(shop.orders), list(shop.shop_operations)
    again = conn.write("baskets", WriteBatch("b1", [item]))
    assert again.observed["H7K2M9"] == first and again.written == 1
    assert len(shop.orders) == orders
    assert shop.shop_operations[len(calls) :] == ["BriqueActiveOrder"]  # read, nothing sent


def test_open_brings_the_order_to_exactly_the_basket(shop: FakeVendure) -> None:
    conn = make()
    code = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 2), (OTHER, 1))]))
    order_code = code.observed["H1"]["id"]
    changed = conn.write("baskets", WriteBatch("b2", [opening("H1", (SKU, 1), (SKU, 2))]))
    assert changed.observed["H1"]["id"] == order_code
    assert held(shop, order_code) == {SKU: 3}  # duplicate SKUs summed, the other removed


def test_open_refusals_fail_the_item_only(shop: FakeVendure) -> None:
    conn = make()
    items = [
        opening("UNKNOWN", ("SKU-NOPE", 1)),
        opening("HALF", (SKU, Decimal("1.5"))),
        opening("EMPTY"),
        opening("TOOMANY", (OTHER, 9)),
        opening("GOOD", (SKU, 1)),
    ]
    result = conn.write("baskets", WriteBatch("b1", items))
    assert set(result.failed) == {"UNKNOWN", "HALF", "EMPTY", "TOOMANY"}
    assert "SKU-NOPE" in result.failed["UNKNOWN"]
    assert "whole number" in result.failed["HALF"]
    assert "INSUFFICIENT_STOCK_ERROR" in result.failed["TOOMANY"]
    assert result.written == 1 and set(result.observed) == {"GOOD"}


def test_open_needs_the_storefront_link(shop: FakeVendure) -> None:
    conn = make(basket_url=None)
    with pytest.raises(ConfigError, match="basket_url"):
        conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))]))
    with pytest.raises(ConfigError, match="token"):
        make(basket_url="https://shop.example.com/cart?order={order}")
    with pytest.raises(ConfigError, match="only use"):
        make(basket_url="https://shop.example.com/cart?t={token}&x={secret}")
    with pytest.raises(ConfigError, match="https"):
        make(basket_url="http://shop.example.com/cart?t={token}")
    assert make(basket_url="http://127.0.0.1:3000/cart?t={token}").config.basket_url


def test_a_lost_session_fails_the_item(shop: FakeVendure) -> None:
    conn = make()
    conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))]))
    shop.shop_sessions.clear()  # the session expired on the server
    result = conn.write("baskets", WriteBatch("b2", [opening("H1", (SKU, 1))]))
    assert "session expired" in result.failed["H1"]


# -- close ----------------------------------------------------------------------------------


def test_close_cancels_the_active_order_once(shop: FakeVendure) -> None:
    conn = make()
    code = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))])).observed["H1"]["id"]
    closing = BasketWrite(code="H1", action="close", currency="EUR")
    result = conn.write("baskets", WriteBatch("c1", [closing]))
    assert result.observed["H1"] == {"id": code, "closed": True}
    (order,) = [o for o in shop.orders.values() if o["code"] == code]
    assert order["state"] == "Cancelled"
    assert baskets(conn) == []  # no longer an active order
    cancels = shop.operations.count("BriqueCancelOrder")
    again = conn.write("baskets", WriteBatch("c1", [closing]))
    assert again.observed["H1"] == {"id": code, "closed": True} and not again.failed
    assert shop.operations.count("BriqueCancelOrder") == cancels
    reopened = conn.write("baskets", WriteBatch("b2", [opening("H1", (SKU, 1))]))
    assert "cancelled" in reopened.failed["H1"]


def test_a_placed_order_is_never_cancelled(shop: FakeVendure) -> None:
    conn = make()
    code = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))])).observed["H1"]["id"]
    (order,) = [o for o in shop.orders.values() if o["code"] == code]
    order["state"] = "PaymentSettled"  # the customer checked out on the shop
    result = conn.write(
        "baskets", WriteBatch("c1", [BasketWrite(code="H1", action="close", currency="EUR")])
    )
    assert "was placed on the shop" in result.failed["H1"]
    assert order["state"] == "PaymentSettled"
    # opening it again answers the placed order: nothing to create
    again = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))]))
    assert again.observed["H1"]["id"] == code and not again.failed


def test_closing_what_was_never_opened_is_closed(shop: FakeVendure) -> None:
    result = make().write(
        "baskets", WriteBatch("c1", [BasketWrite(code="NEVER", action="close", currency="EUR")])
    )
    assert result.observed["NEVER"] == {"id": None, "closed": True}


# -- conversion -----------------------------------------------------------------------------


def test_an_order_names_its_basket(shop: FakeVendure) -> None:
    shop.add_order("79WSXB83JWG7LNT6", [("1", 1, 2379)])
    conn = make()
    (event,) = [e for page in conn.read("orders") for e in page.events]
    (body,) = conn.decode(event)
    assert body.sale.basket == "79WSXB83JWG7LNT6"


def test_a_closed_cart_is_no_cancelled_sale_but_a_cancelled_order_is(shop: FakeVendure) -> None:
    """Closing a cart (bought at a till) cancels an order that was never placed: the orders
    stream must not journal it as a cancelled web sale; a placed order cancelled still is."""
    conn = make()
    cart = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 2))])).observed["H1"]["id"]
    shop.add_order("PLACED1", [("1", 1, 2379)], updated=T0)
    cursor = [p.cursor for p in conn.read("orders")][-1]
    shop.now += timedelta(hours=1)  # closed later: past the cursor
    conn.write(
        "baskets", WriteBatch("c1", [BasketWrite(code="H1", action="close", currency="EUR")])
    )
    (placed,) = [o for o in shop.orders.values() if o["code"] == "PLACED1"]
    placed.update(state="Cancelled", updated=shop.now + timedelta(seconds=1))
    events = [e for page in conn.read("orders", cursor) for e in page.events]
    assert [e.key for e in events] == ["order/PLACED1/cancelled"]
    (cancelled_cart,) = [o for o in shop.orders.values() if o["code"] == cart]
    assert cancelled_cart["state"] == "Cancelled"
    payload = shop.order_json(cancelled_cart)
    assert payload["orderPlacedAt"] is None
    with pytest.raises(DataError, match="a basket, not a sale"):
        conn.decode(InboundEvent(key=f"order/{cart}/cancelled", kind="order", payload=payload))


def test_the_shop_api_sits_beside_the_admin_api() -> None:
    assert make().shop.endpoint == SHOP_URL
    other = make(shop_api_url="https://api.example.com/shop")
    assert other.shop.endpoint == "https://api.example.com/shop"
