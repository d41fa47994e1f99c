"""Oscar baskets over the scripted oscar-api (``oscar_fake``): the shop's baskets read through
the shop-side ``BasketChanges`` view, handed-off baskets opened as anonymous oscar-api baskets
and deleted, orders naming their basket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bridge.connector import BasketWrite, ConnectorContext, WriteBatch
from bridge.errors import ConfigError, DataError
from bridge.http import without_backoff
from bridge.model import BasketBody, BasketLine, BasketStatus, Money
from connectors.oscar import OscarConnector
from connectors.oscar.baskets import BASKET_ENTITY, SESSION_ENTITY
from tests.oscar.oscar_fake import PARTNER, PASSWORD, SITE, T0, USER, FakeOscar

SKU = "SKU-TSHIRT-BLUE"
OTHER = "SKU-JEANS"


@pytest.fixture
def shop() -> Iterator[FakeOscar]:
    fake = FakeOscar()
    fake.add_product(SKU, stock=10)  # record 1, product 1
    fake.add_product(OTHER, stock=4, price="49.50")  # record 2, product 2
    with without_backoff(), fake.serving():
        yield fake


def make(**overrides: object) -> OscarConnector:
    settings = {
        "base_url": SITE,
        "username": USER,
        "password": PASSWORD,
        "partner": PARTNER,
        "read_baskets": True,
    }
    settings.update(overrides)
    return OscarConnector.from_settings(settings, ConnectorContext("webshop"))


def opening(code: str, *lines: tuple[str, Any]) -> BasketWrite:
    return BasketWrite(
        code=code,
        currency="EUR",
        lines=tuple(BasketLine(sku=sku, quantity=Decimal(q)) for sku, q in lines),
    )


def closing(code: str) -> BasketWrite:
    return BasketWrite(code=code, action="close", currency="EUR")


def events(conn: OscarConnector, cursor: str | None = None) -> list[Any]:
    return [e for page in conn.read("baskets", cursor) for e in page.events]


def decoded(conn: OscarConnector, event: Any) -> Any:
    (body,) = conn.decode(event)
    assert isinstance(body, BasketBody)
    return body.basket


def contents(shop: FakeOscar, basket_id: str) -> dict[str, int]:
    basket = shop.baskets[int(basket_id)]
    return {
        shop.records[line["record"]]["partner_sku"]: line["quantity"] for line in basket["lines"]
    }


# -- read -----------------------------------------------------------------------------------


def test_baskets_are_read_with_skus_prices_owners_and_statuses(shop: FakeOscar) -> None:
    open_id = shop.add_basket([(1, 2), (2, 1)], owner=(7, "jane@example.com"))
    saved_id = shop.add_basket([(2, 1)], status="Saved", owner=(7, "jane@example.com"))
    paid_id = shop.add_basket([(1, 1)], status="Frozen", order="100002")
    merged_id = shop.add_basket([(1, 1)], status="Merged")
    conn = make()
    assert list(conn.streams()) == ["orders", "baskets"]
    found = {decoded(conn, e).basket_id: decoded(conn, e) for e in events(conn)}
    assert list(found) == [str(i) for i in (open_id, saved_id, paid_id, merged_id)]
    cart = found[str(open_id)]
    assert cart.status is BasketStatus.ACTIVE and cart.kind is None and cart.channel == "web"
    assert [(line.sku, line.quantity, line.unit_price) for line in cart.lines] == [
        (SKU, Decimal(2), Money(amount=Decimal("19.99"), currency="EUR")),
        (OTHER, Decimal(1), Money(amount=Decimal("49.50"), currency="EUR")),
    ]
    assert cart.customer.email == "jane@example.com"
    assert cart.customer.channel_ids == {"oscar": "7"}
    saved = found[str(saved_id)]
    assert saved.status is BasketStatus.WISH_LIST and saved.kind is BasketStatus.WISH_LIST
    paid = found[str(paid_id)]
    assert paid.status is BasketStatus.CONVERTED and paid.order_reference == "100002"
    assert found[str(merged_id)].status is BasketStatus.TRANSFERRED


def test_upc_names_the_lines_when_it_is_the_sku(shop: FakeOscar) -> None:
    shop.products[1]["upc"] = "4006381333931"
    shop.add_basket([(1, 1)])
    (event,) = events(make(sku_field="upc"))
    assert decoded(make(), event).lines[0].sku == SKU
    assert decoded(make(sku_field="upc"), event).lines[0].sku == "4006381333931"


def test_a_changed_basket_is_a_new_event_and_a_replay_is_not(shop: FakeOscar) -> None:
    basket_id = shop.add_basket([(1, 1)], at=T0)
    conn = make(page_size=1)
    (first,) = events(conn)
    cursor = list(conn.read("baskets"))[-1].cursor
    assert events(conn, cursor) == []
    shop.baskets[basket_id]["lines"][0].update(quantity=3, updated=T0 + timedelta(seconds=1))
    (changed,) = events(conn, cursor)
    assert changed.key != first.key and decoded(conn, changed).lines[0].quantity == 3


def test_the_stream_is_off_unless_the_shop_serves_it(shop: FakeOscar) -> None:
    assert list(make(read_baskets=False).streams()) == ["orders"]
    shop.basket_views = False
    with pytest.raises(ConfigError, match=r"shop_views\.py"):
        events(make())


# -- open -----------------------------------------------------------------------------------


def test_open_fills_an_anonymous_basket_and_links_its_session(shop: FakeOscar) -> None:
    conn = make()
    result = conn.write("baskets", WriteBatch("b1", [opening("H7K2M9", (SKU, 2), (OTHER, 1))]))
    assert result.written == 1 and not result.failed
    observed = result.observed["H7K2M9"]
    basket_id = observed["id"]
    assert contents(shop, basket_id) == {SKU: 2, OTHER: 1}
    assert shop.baskets[int(basket_id)]["owner"] is None
    url = urlsplit(observed["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{SITE}/basket/resume/"
    (session,) = parse_qs(url.query)["session"]
    assert shop.django_sessions[session] == int(basket_id)  # the link's session holds it
    bindings = conn.context.bindings
    assert bindings.get_external(SESSION_ENTITY, "H7K2M9") == session
    assert bindings.get_external(BASKET_ENTITY, "H7K2M9") == basket_id
    # the shopper's calls carry no staff credentials
    assert shop.shopper_calls and not any(auth for _, _, auth in shop.shopper_calls)
    # read back: the basket stream echoes the handoff code and the link
    (event,) = [e for e in events(conn) if e.payload["id"] == int(basket_id)]
    basket = decoded(conn, event)
    assert basket.code == "H7K2M9" and basket.url == observed["url"]


def test_opening_again_changes_nothing(shop: FakeOscar) -> None:
    conn = make()
    item = opening("H1", (SKU, 2))
    first = conn.write("baskets", WriteBatch("b1", [item])).observed["H1"]
    baskets, calls = len(shop.baskets), len(shop.shopper_calls)
    again = conn.write("baskets", WriteBatch("b1", [item]))
    assert again.observed["H1"] == first and again.written == 1
    assert len(shop.baskets) == baskets
    assert [m for m, _, _ in shop.shopper_calls[calls:]] == ["GET", "GET"]  # basket, lines


def test_a_crash_between_the_two_bindings_finds_the_basket_again(shop: FakeOscar) -> None:
    conn = make()
    first = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))])).observed["H1"]
    bindings = conn.context.bindings
    del bindings._data[(BASKET_ENTITY, "H1")]  # as if the worker died after the first put
    again = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))]))
    assert again.observed["H1"] == first
    assert bindings.get_external(BASKET_ENTITY, "H1") == first["id"]
    assert len(shop.baskets) == 1


def test_open_brings_the_basket_to_exactly_its_lines(shop: FakeOscar) -> None:
    conn = make()
    basket_id = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 2), (OTHER, 1))]))
    basket_id = basket_id.observed["H1"]["id"]
    conn.write("baskets", WriteBatch("b2", [opening("H1", (SKU, 1), (SKU, 3))]))
    assert contents(shop, basket_id) == {SKU: 4}


def test_a_base_url_template_can_point_to_a_headless_storefront(shop: FakeOscar) -> None:
    conn = make(basket_url="https://front.example.com/cart/{basket}?s={session}&h={code}")
    observed = conn.write("baskets", WriteBatch("b1", [opening("H 1", (SKU, 1))])).observed
    url = urlsplit(observed["H 1"]["url"])
    assert url.netloc == "front.example.com" and url.path == f"/cart/{observed['H 1']['id']}"
    assert parse_qs(url.query)["h"] == ["H 1"]
    with pytest.raises(ConfigError, match="session"):
        make(basket_url="https://front.example.com/cart/{basket}")
    with pytest.raises(ConfigError, match="https"):
        make(basket_url="http://front.example.com/cart/{basket}?s={session}")


def test_open_refusals_fail_the_item_only(shop: FakeOscar) -> None:
    conn = make()
    items = [
        opening("UNKNOWN", ("SKU-NOPE", 1)),
        opening("HALF", (SKU, "0.5")),
        opening("EMPTY"),
        opening("TOOMANY", (OTHER, 9)),
        opening("GOOD", (SKU, 1)),
    ]
    result = conn.write("baskets", WriteBatch("b1", items))
    assert set(result.failed) == {"UNKNOWN", "HALF", "EMPTY", "TOOMANY"}
    assert "SKU-NOPE" in result.failed["UNKNOWN"]
    assert "a maximum of 4" in result.failed["TOOMANY"]
    assert set(result.observed) == {"GOOD"} and result.written == 1


def test_a_basket_brique_did_not_open_cannot_be_written(shop: FakeOscar) -> None:
    foreign = shop.add_basket([(1, 1)])
    item = opening("H1", (SKU, 1)).model_copy(update={"external_id": str(foreign)})
    result = make().write("baskets", WriteBatch("b1", [item]))
    assert "not opened by this connection" in result.failed["H1"]


def test_an_expired_session_fails_the_item(shop: FakeOscar) -> None:
    conn = make()
    conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))]))
    shop.django_sessions.clear()
    assert (
        "expired" in conn.write("baskets", WriteBatch("b2", [opening("H1", (SKU, 1))])).failed["H1"]
    )
    assert "expired" in conn.write("baskets", WriteBatch("c1", [closing("H1")])).failed["H1"]


# -- close ----------------------------------------------------------------------------------


def test_close_deletes_the_basket_once(shop: FakeOscar) -> None:
    conn = make()
    basket_id = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))])).observed["H1"][
        "id"
    ]
    result = conn.write("baskets", WriteBatch("c1", [closing("H1")]))
    assert result.observed["H1"] == {"id": basket_id, "closed": True}
    assert int(basket_id) not in shop.baskets
    again = conn.write("baskets", WriteBatch("c1", [closing("H1")]))
    assert again.observed["H1"] == {"id": basket_id, "closed": True} and not again.failed
    never = conn.write("baskets", WriteBatch("c2", [closing("NEVER")]))
    assert never.observed["NEVER"] == {"id": None, "closed": True}


def test_a_checked_out_basket_is_left_as_it_is(shop: FakeOscar) -> None:
    conn = make()
    basket_id = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))])).observed["H1"][
        "id"
    ]
    shop.baskets[int(basket_id)]["status"] = "Frozen"  # oscar-api's checkout froze it
    assert conn.write("baskets", WriteBatch("c1", [closing("H1")])).observed["H1"]["closed"]
    assert shop.baskets[int(basket_id)]["status"] == "Frozen"
    reopened = conn.write("baskets", WriteBatch("b1", [opening("H1", (SKU, 1))]))
    assert reopened.observed["H1"]["id"] == basket_id and not reopened.failed


def test_a_shoppers_basket_is_closed_as_staff_when_the_shop_views_are_there(
    shop: FakeOscar,
) -> None:
    cart = shop.add_basket([(1, 1)], owner=(7, "jane@example.com"))
    paying = shop.add_basket([(1, 1)], status="Frozen")
    items = [
        closing("WEB1").model_copy(update={"external_id": str(cart)}),
        closing("WEB2").model_copy(update={"external_id": str(paying)}),
        closing("WEB3").model_copy(update={"external_id": "999"}),
    ]
    result = make().write("baskets", WriteBatch("c1", items))
    assert not result.failed and result.written == 3
    assert result.observed["WEB1"] == {"id": str(cart), "closed": True}
    assert cart not in shop.baskets  # deleted
    assert shop.baskets[paying]["status"] == "Frozen"  # no longer open: left as it is
    off = make(read_baskets=False).write("baskets", WriteBatch("c2", [items[1]]))
    assert "shop_views.py" in off.failed["WEB2"]


# -- conversion -----------------------------------------------------------------------------


def test_an_order_names_the_basket_it_was_placed_from(shop: FakeOscar) -> None:
    basket_id = shop.add_basket([(1, 2)], status="Frozen")
    shop.add_order("100002", [(1, 2, "39.98")], basket=basket_id)
    conn = make()
    (event,) = [e for page in conn.read("orders") for e in page.events]
    (body,) = conn.decode(event)
    assert body.sale.basket == str(basket_id)


def test_a_basket_payload_without_currency_or_sku_is_refused(shop: FakeOscar) -> None:
    shop.add_basket([(1, 1)])
    conn = make()
    (event,) = events(conn)
    broken = dict(event.payload, currency="")
    with pytest.raises(DataError, match="currency"):
        conn.decode(type(event)(key=event.key, kind=event.kind, payload=broken))
    lines = [dict(event.payload["lines"][0], partner_sku=None)]
    broken = dict(event.payload, lines=lines)
    with pytest.raises(DataError, match="partner_sku"):
        conn.decode(type(event)(key=event.key, kind=event.kind, payload=broken))
