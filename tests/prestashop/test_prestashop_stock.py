"""Stock out: GET -> modify -> PUT of stock_availables, compare-and-set, SKU resolution."""

from __future__ import annotations

from decimal import Decimal

import pytest
import responses
from responses import matchers

from bridge.connector import ConnectorContext, StockWrite, WriteBatch
from connectors.prestashop import PrestaShopConnector
from connectors.prestashop.connector import ITEM_ENTITY, STOCK_ENTITY
from tests.prestashop.prestashop_fakes import (
    API,
    HEADERS,
    FakeClock,
    FakePrestaShop,
    data,
    make_config,
)


def level(sku: str, quantity: int, previous: int | None = None, location: str = "1") -> StockWrite:
    return StockWrite(
        sku=sku,
        location=location,
        quantity=Decimal(quantity),
        previous=None if previous is None else Decimal(previous),
    )


def batch(*items: StockWrite, key: str = "push-1") -> WriteBatch:
    return WriteBatch(key, list(items), reference="StockPush/1")


def test_put_sends_back_the_document_as_read_with_only_quantity_changed(
    connector: PrestaShopConnector, context: ConnectorContext
) -> None:
    original = data("stock_available_2.xml")
    expected = original.replace(b"<![CDATA[1799]]>", b"<![CDATA[5]]>")
    assert expected != original
    with responses.RequestsMock() as mock:
        mock.get(
            f"{API}combinations",
            body=data("combinations_none.xml"),
            headers=HEADERS,
            match=[
                matchers.query_param_matcher(
                    {"filter[reference]": "[demo_2]", "display": "[id,id_product,reference]"}
                )
            ],
        )
        mock.get(
            f"{API}products",
            body=data("products_demo_2.xml"),
            headers=HEADERS,
            match=[
                matchers.query_param_matcher(
                    {"filter[reference]": "[demo_2]", "display": "[id,reference]"}
                )
            ],
        )
        mock.get(
            f"{API}stock_availables",
            body=data("stock_availables_product_2.xml"),
            headers=HEADERS,
            match=[matchers.query_param_matcher({"filter[id_product]": "[2]", "display": "full"})],
        )
        mock.get(f"{API}stock_availables/2", body=original, headers=HEADERS)
        put = mock.put(
            f"{API}stock_availables/2",
            body=expected,
            headers=HEADERS,
            match=[matchers.header_matcher({"Content-Type": "text/xml; charset=utf-8"})],
        )
        result = connector.write("stock", batch(level("demo_2", 5, previous=1799)))

    assert result.written == 1 and not result.failed and not result.stale
    assert result.observed == {"demo_2@1": Decimal(5)}
    assert put.call_count == 1
    sent = put.calls[0].request.body
    assert sent == expected  # every other byte as read: CDATA, xlink:href, tabs, <location>
    # The product whose reference differs only by case (DEMO_2, id 9) was not taken.
    assert context.bindings.get_external(ITEM_ENTITY, "demo_2") == "2:0"
    assert context.bindings.get_external(STOCK_ENTITY, "demo_2@1") == "2"


def test_combination_sku_resolves_to_its_own_stock_row(
    connector: PrestaShopConnector, context: ConnectorContext
) -> None:
    row = data("stock_available_11.xml")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            f"{API}combinations",
            body=data("combinations_demo_2_black_s.xml"),
            headers=HEADERS,
            match=[
                matchers.query_param_matcher(
                    {
                        "filter[reference]": "[demo_2-black-s]",
                        "display": "[id,id_product,reference]",
                    }
                )
            ],
        )
        products = mock.get(f"{API}products", body=b"", status=500)
        listing = mock.get(
            f"{API}stock_availables",
            body=data("stock_availables_combination_7.xml"),
            headers=HEADERS,
            match=[
                matchers.query_param_matcher(
                    {
                        "filter[id_product]": "[2]",
                        "filter[id_product_attribute]": "[7]",
                        "display": "full",
                    }
                )
            ],
        )
        mock.get(f"{API}stock_availables/11", body=row, headers=HEADERS)
        put = mock.put(f"{API}stock_availables/11", body=row.replace(b"[12]", b"[3]"))
        result = connector.write("stock", batch(level("demo_2-black-s", 3, previous=12)))

    assert result.written == 1, result.failed
    assert products.call_count == 0  # a combination matched: products are not searched
    assert listing.call_count == 1
    assert put.calls[0].request.body == row.replace(b"<![CDATA[12]]>", b"<![CDATA[3]]>")
    assert context.bindings.get_external(ITEM_ENTITY, "demo_2-black-s") == "2:7"
    assert context.bindings.get_external(STOCK_ENTITY, "demo_2-black-s@1") == "11"


def test_stale_previous_is_reported_and_nothing_is_sent(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.add_product(2, "demo_2")
    shop.add_stock(2, 2, quantity=7)  # a web order took 2 since Brique published 9
    result = connector.write("stock", batch(level("demo_2", 5, previous=9)))
    assert result.stale == {"demo_2@1": Decimal(7)}
    assert result.written == 0 and not result.failed
    assert shop.puts == []
    assert shop.stock.rows[2]["quantity"] == "7"


def test_no_previous_writes_whatever_the_shop_holds(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.add_product(2, "demo_2")
    shop.add_stock(2, 2, quantity=7)
    result = connector.write("stock", batch(level("demo_2", 5)))
    assert result.written == 1 and not result.stale
    assert shop.stock.rows[2]["quantity"] == "5"


def test_replay_finds_the_quantity_there_and_sends_nothing(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.add_product(2, "demo_2")
    shop.add_stock(2, 2, quantity=9)
    first = connector.write("stock", batch(level("demo_2", 5, previous=9)))
    assert first.written == 1 and shop.applied == 1
    again = connector.write("stock", batch(level("demo_2", 5, previous=9)))
    assert again.written == 1 and not again.stale and not again.failed
    assert again.observed == {"demo_2@1": Decimal(5)}
    assert shop.applied == 1 and len(shop.stock_puts()) == 1


def test_every_other_field_survives_the_put(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    """The fake sets fields left out of a PUT to NULL, as PrestaShop does: none may be lost."""
    shop.add_product(2, "demo_2")
    shop.add_stock(2, 2, quantity=9)
    shop.stock.rows[2].update({"out_of_stock": "1", "location": "Aisle 4", "depends_on_stock": "0"})
    before = dict(shop.stock.rows[2])
    connector.write("stock", batch(level("demo_2", 4)))
    after = shop.stock.rows[2]
    assert after == {**before, "quantity": "4"}


def test_bindings_are_looked_up_once(connector: PrestaShopConnector, shop: FakePrestaShop) -> None:
    shop.add_product(2, "demo_2")
    shop.add_stock(2, 2, quantity=9)
    connector.write("stock", batch(level("demo_2", 5)))
    lookups = len(shop.requests)
    connector.write("stock", batch(level("demo_2", 6), key="push-2"))
    later = shop.requests[lookups:]
    assert [(m, p) for m, p, _ in later] == [
        ("GET", "stock_availables/2"),
        ("PUT", "stock_availables/2"),
    ]


def test_a_vanished_stock_row_is_resolved_again(
    connector: PrestaShopConnector, shop: FakePrestaShop, context: ConnectorContext
) -> None:
    shop.add_product(2, "demo_2")
    shop.add_stock(31, 2, quantity=9)  # combinations regenerated: the row got a new id
    context.bindings.put(ITEM_ENTITY, "demo_2", "2:0")
    context.bindings.put(STOCK_ENTITY, "demo_2@1", "2")
    result = connector.write("stock", batch(level("demo_2", 5)))
    assert result.written == 1, result.failed
    assert shop.stock.rows[31]["quantity"] == "5"
    assert context.bindings.get_external(STOCK_ENTITY, "demo_2@1") == "31"


def test_refused_items_fail_alone(connector: PrestaShopConnector, shop: FakePrestaShop) -> None:
    shop.add_product(1, "demo_1")
    shop.add_combination(1, 1, "demo_1-s")
    shop.add_stock(1, 1, quantity=10)  # the product's total
    shop.add_stock(3, 1, attribute=1, quantity=10)
    shop.add_product(2, "demo_2")
    shop.add_stock(2, 2, quantity=9)
    shop.add_product(4, "TWIN")
    shop.add_product(5, "TWIN")
    shop.add_product(6, "ASM")
    shop.add_stock(6, 6, quantity=2)
    shop.stock.rows[6]["depends_on_stock"] = "1"
    result = connector.write(
        "stock",
        batch(
            level("demo_1", 3),
            level("NOPE-1", 3),
            level("TWIN", 3),
            StockWrite(sku="demo_2", location="1", quantity=Decimal("2.5")),
            level("demo_2", 1, location="main"),
            level("demo_1-s", 4),
            level("ASM", 1),
        ),
    )
    assert "advanced stock management" in result.failed["ASM@1"]
    assert "has combinations" in result.failed["demo_1@1"]
    assert "reference of no PrestaShop product" in result.failed["NOPE-1@1"]
    assert "make it unique" in result.failed["TWIN@1"]
    assert "not a whole number" in result.failed["demo_2@1"]
    assert "not a PrestaShop shop id" in result.failed["demo_2@main"]
    assert result.written == 1 and shop.stock.rows[3]["quantity"] == "4"
    assert shop.stock.rows[1]["quantity"] == "10"


def test_a_later_duplicate_wins(connector: PrestaShopConnector, shop: FakePrestaShop) -> None:
    shop.add_product(2, "demo_2")
    shop.add_stock(2, 2, quantity=9)
    result = connector.write("stock", batch(level("demo_2", 5), level("demo_2", 6)))
    assert result.written == 1 and shop.stock.rows[2]["quantity"] == "6"


def test_shop_rows_are_chosen_by_location(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.add_product(2, "demo_2")
    shop.add_stock(2, 2, quantity=9, shop=1)
    shop.add_stock(40, 2, quantity=9, shop=2)
    shop.add_product(3, "demo_3")
    shop.add_stock(41, 3, quantity=9, shop=0)  # a shop group's shared stock
    result = connector.write("stock", batch(level("demo_2", 1, location="2"), level("demo_3", 2)))
    assert result.written == 2, result.failed
    assert shop.stock.rows[40]["quantity"] == "1" and shop.stock.rows[2]["quantity"] == "9"
    assert shop.stock.rows[41]["quantity"] == "2"


@pytest.mark.parametrize(
    ("sku", "expected"),
    [("A|B", "%[A|B]%"), ("10,20", "%[10,20]%"), ("50%-OFF", "%[50%-OFF]%"), ("A-1", "[A-1]")],
)
def test_references_prestashop_would_misread_are_searched_broadly(
    connector: PrestaShopConnector, shop: FakePrestaShop, sku: str, expected: str
) -> None:
    shop.add_product(2, sku)
    shop.add_product(3, sku + "X")  # caught by the broad search, dropped as not exact
    shop.add_stock(2, 2, quantity=9)
    result = connector.write("stock", batch(level(sku, 5)))
    assert result.written == 1, result.failed
    searched = {p["filter[reference]"] for _, path, p in shop.requests if path == "products"}
    assert searched == {expected}


def test_read_stock_reads_rows_in_one_call(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.add_product(2, "demo_2")
    shop.add_stock(2, 2, quantity=9)
    shop.add_product(3, "demo_3")
    shop.add_stock(5, 3, quantity=-2)
    found = connector.read_stock([("demo_2", "1"), ("demo_3", "1"), ("NOPE", "1")])
    assert found == {("demo_2", "1"): Decimal(9), ("demo_3", "1"): Decimal(-2)}
    reads = [p for m, path, p in shop.requests if path == "stock_availables" and "filter[id]" in p]
    assert reads == [{"filter[id]": "[2|5]", "display": "[id,quantity]"}]


def test_calls_are_paced(context: ConnectorContext, shop: FakePrestaShop) -> None:
    clock = FakeClock()
    conn = PrestaShopConnector(
        make_config(requests_per_second=2), context, clock=clock, sleep=clock.sleep
    )
    for n in range(4):
        shop.add_product(n + 1, f"P{n}")
        shop.add_stock(n + 1, n + 1, quantity=9)
    conn.write("stock", batch(*(level(f"P{n}", 1) for n in range(4))))
    calls = len(shop.requests)
    assert calls == 4 * 5  # combinations, products, stock rows, GET, PUT per new SKU
    # A bucket of 2 at 2 calls/s: the other calls waited half a second each.
    assert sum(clock.sleeps) == pytest.approx((calls - 2) / 2, rel=0.01)
