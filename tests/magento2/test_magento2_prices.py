"""Prices out: ``POST /V1/products/base-prices``, per-item refusals, exact numbers."""

from __future__ import annotations

from decimal import Decimal

import responses

from bridge.connector import PriceWrite, WriteBatch
from bridge.model import Money
from connectors.magento2 import Magento2Connector
from tests.magento2.magento_fakes import API, DATA, FakeMagento, load


def price(sku: str, amount: str, currency: str = "EUR", **fields) -> PriceWrite:
    return PriceWrite(sku=sku, price=Money(amount=Decimal(amount), currency=currency), **fields)


def write(connector: Magento2Connector, *items: PriceWrite):
    return connector.write("prices", WriteBatch("prices-1", list(items), reference="Prices/1"))


def test_the_mapped_fields_are_sent_as_exact_numbers(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("MUG-BLUE")
    shop.add_product("MUG-RED")
    result = write(
        connector,
        price("MUG-BLUE", "19.99", fields={"price": "16.658333"}),  # tax excluded, 6 places
        price("MUG-RED", "12.10"),  # no mapped fields: the price itself
    )
    assert result.written == 2 and not result.failed
    assert shop.price_posts == [
        [
            {"sku": "MUG-BLUE", "price": Decimal("16.658333"), "store_id": 0},
            {"sku": "MUG-RED", "price": Decimal("12.10"), "store_id": 0},
        ]
    ]
    assert shop.prices[("MUG-BLUE", 0)] == Decimal("16.658333")
    assert result.observed["MUG-RED"] == {"price": Decimal("12.10"), "store_id": 0}


def test_a_per_item_refusal_fails_that_sku_only(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("MUG-BLUE")
    result = write(
        connector,
        price("MUG-BLUE", "19.90", fields={"price": "19.90"}),
        price("GHOST-404", "5.00", fields={"price": "5.00"}),
    )
    assert result.written == 1
    assert list(result.failed) == ["GHOST-404"]
    assert result.failed["GHOST-404"].endswith("Invalid attribute SKU = GHOST-404.")
    assert shop.prices[("MUG-BLUE", 0)] == Decimal("19.90")


@responses.activate
def test_the_documented_refusal_list_is_matched_to_skus(connector: Magento2Connector) -> None:
    """Refusals shaped like the Magento web API test's answer for an unknown SKU and store."""
    responses.add(responses.GET, f"{API}/store/storeConfigs", json=load("store_configs.json"))
    responses.add(
        responses.POST,
        f"{API}/products/base-prices",
        body=(DATA / "base_prices_refused.json").read_bytes(),
        content_type="application/json",
    )
    result = write(connector, price("MUG-BLUE", "19.90"), price("GHOST-404", "5.00"))
    assert result.written == 1 and result.observed["MUG-BLUE"]["price"] == Decimal("19.90")
    assert result.failed == {
        "GHOST-404": "magento2 base-prices (2 items): Invalid attribute SKU = GHOST-404.; "
        "Requested store is not found. Row ID: SKU = GHOST-404, Store ID: 0."
    }


def test_a_refusal_naming_no_sku_is_located_by_sending_items_alone(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    for sku in ("A", "B", "C"):
        shop.add_product(sku)
    shop.price_refusals = {"B"}  # "Invalid attribute Price = 7.00.": no SKU in it
    result = write(connector, price("A", "5.00"), price("B", "7.00"), price("C", "9.00"))
    assert list(result.failed) == ["B"]
    assert result.failed["B"].endswith("Invalid attribute Price = 7.00.")
    assert result.written == 2
    assert [[p["sku"] for p in post] for post in shop.price_posts] == [
        ["A", "B", "C"],
        ["A"],
        ["B"],
        ["C"],
    ]
    assert shop.prices[("A", 0)] == Decimal("5.00") and shop.prices[("C", 0)] == 9


def test_prices_go_twenty_a_call_to_the_configured_store(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    for n in range(41):
        shop.add_product(f"SKU-{n:02d}")
    result = write(
        connector,
        *(price(f"SKU-{n:02d}", "3.50") for n in range(40)),
        price("SKU-40", "3.50", fields={"price": "3.50", "store_id": "2"}),
    )
    assert result.written == 41
    assert [len(p) for p in shop.price_posts] == [20, 20, 1]
    assert shop.price_posts[-1] == [{"sku": "SKU-40", "price": Decimal("3.50"), "store_id": 2}]


def test_wrong_currencies_and_fields_fail_before_anything_is_sent(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("MUG-BLUE")
    result = write(
        connector,
        price("MUG-BLUE", "19.90", currency="USD"),
        price("MUG-RED", "19.90", fields={"price": "19.90", "special_price": "15.00"}),
        price("MUG-GREEN", "19.90", fields={"price": -1}),
        price("MUG-PINK", "19.90", fields={"price": 19.9}),
    )
    assert "not in the base currency EUR" in result.failed["MUG-BLUE"]
    assert "special_price" in result.failed["MUG-RED"]
    assert "negative" in result.failed["MUG-GREEN"]
    assert "float" in result.failed["MUG-PINK"]
    assert not shop.price_posts


def test_the_request_body_is_exact_text(connector: Magento2Connector, shop: FakeMagento) -> None:
    shop.add_product("MUG-BLUE")
    write(connector, price("MUG-BLUE", "0.30", fields={"price": "0.30"}))
    bodies = [body for path, body in shop.bodies if path.endswith("/products/base-prices")]
    assert bodies == [b'{"prices":[{"sku":"MUG-BLUE","price":0.30,"store_id":0}]}']


def test_nothing_to_write_calls_nothing(connector: Magento2Connector, shop: FakeMagento) -> None:
    assert write(connector).written == 0
    assert not shop.requests
