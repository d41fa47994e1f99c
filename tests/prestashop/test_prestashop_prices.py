"""Prices out: GET then PUT of the product with the mapped (tax-excluded) fields."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import responses
from lxml import etree

from bridge.connector import ConnectorContext, PriceWrite, WriteBatch
from bridge.mapping.loader import load_plan
from bridge.model import Money, Price
from connectors.prestashop import PrestaShopConnector
from connectors.prestashop.connector import ITEM_ENTITY
from tests.prestashop.prestashop_fakes import (
    API,
    HEADERS,
    FakeClock,
    FakePrestaShop,
    data,
    make_config,
)


def price(sku: str, amount: str, fields: dict | None = None, currency: str = "EUR") -> PriceWrite:
    return PriceWrite(
        sku=sku,
        price=Money(amount=Decimal(amount), currency=currency),
        fields={"price": amount} if fields is None else fields,
    )


def batch(*items: PriceWrite) -> WriteBatch:
    return WriteBatch("prices-1", list(items))


def test_price_put_changes_price_and_leaves_out_read_only_parts(
    connector: PrestaShopConnector, context: ConnectorContext
) -> None:
    context.bindings.put(ITEM_ENTITY, "demo_2", "2:0")
    original = data("product_2.xml")
    with responses.RequestsMock() as mock:
        mock.get(f"{API}products/2", body=original, headers=HEADERS)
        put = mock.put(
            f"{API}products/2",
            body=original.replace(b"[23.900000]", b"[16.658333]"),
            headers=HEADERS,
        )
        result = connector.write("prices", batch(price("demo_2", "16.658333")))

    assert result.written == 1 and not result.failed
    assert result.observed == {"demo_2": {"price": Decimal("16.658333")}}
    sent = etree.fromstring(put.calls[0].request.body).find("product")
    read = etree.fromstring(original).find("product")
    assert sent.findtext("price") == "16.658333"
    left_out = {"manufacturer_name", "quantity", "position_in_category", "associations"}
    assert {c.tag for c in read} - {c.tag for c in sent} == left_out
    for field in sent:
        if field.tag != "price":  # every other field goes back exactly as read
            assert etree.tostring(field) == etree.tostring(read.find(field.tag)), field.tag


def test_other_product_fields_survive(connector: PrestaShopConnector, shop: FakePrestaShop) -> None:
    """The fake nulls what a PUT leaves out and refuses non-writable fields, as PrestaShop."""
    shop.add_product(2, "demo_2", price="23.900000")
    before = dict(shop.products.rows[2])
    result = connector.write("prices", batch(price("demo_2", "16.658333")))
    assert result.written == 1, result.failed
    assert shop.products.rows[2] == {**before, "price": "16.658333"}


def test_mapped_fields_go_as_given(connector: PrestaShopConnector, shop: FakePrestaShop) -> None:
    shop.add_product(2, "demo_2", price="23.900000")
    item = price("demo_2", "19.99", {"price": Decimal("16.658333"), "on_sale": True})
    result = connector.write("prices", batch(item))
    assert result.written == 1, result.failed
    assert shop.products.rows[2]["price"] == "16.658333"
    assert shop.products.rows[2]["on_sale"] == "1"
    assert result.observed["demo_2"] == {"price": Decimal("16.658333"), "on_sale": Decimal(1)}


def test_a_price_already_there_is_not_sent(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.add_product(2, "demo_2", price="16.658333")
    result = connector.write("prices", batch(price("demo_2", "16.658333000")))
    assert result.written == 1 and shop.puts == []


def test_combination_prices_are_refused(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.add_product(2, "demo_2")
    shop.add_combination(7, 2, "demo_2-black-s")
    shop.add_product(3, "demo_3", price="5.000000")
    result = connector.write(
        "prices", batch(price("demo_2-black-s", "16.658333"), price("demo_3", "6.000000"))
    )
    message = result.failed["demo_2-black-s"]
    assert "combination 7 of product 2" in message and "impact" in message
    assert result.written == 1 and shop.products.rows[3]["price"] == "6.000000"
    assert [p for p, _ in shop.puts] == ["products/3"]


def test_a_price_without_a_tax_excluded_field_is_refused(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.add_product(2, "demo_2")
    shop.add_product(3, "demo_3")
    tax_included = PriceWrite(
        sku="demo_2", price=Price(amount="19.99", currency="EUR", tax_included=True)
    )
    tax_excluded = PriceWrite(
        sku="demo_3", price=Price(amount="16.658333", currency="EUR", tax_included=False)
    )
    result = connector.write("prices", batch(tax_included, tax_excluded))
    assert "tax excluded" in result.failed["demo_2"]
    assert shop.products.rows[3]["price"] == "16.658333"


def test_bad_fields_are_refused(connector: PrestaShopConnector, shop: FakePrestaShop) -> None:
    for n, sku in enumerate(("A", "B", "C", "D"), start=1):
        shop.add_product(n, sku)
    result = connector.write(
        "prices",
        batch(
            price("A", "1", {"price": "-1"}),
            price("B", "1", {"colour": "red"}),
            price("C", "1", {"name": "Shirt"}),
            price("D", "1", {"quantity": "3"}),
        ),
    )
    assert "refused" in result.failed["A"]
    assert "no field 'colour'" in result.failed["B"]
    assert "multilingual" in result.failed["C"]
    assert "not writable" in result.failed["D"]
    assert shop.puts == []


def test_the_shop_currency_is_enforced(context: ConnectorContext, shop: FakePrestaShop) -> None:
    clock = FakeClock()
    conn = PrestaShopConnector(make_config(currency="EUR"), context, clock=clock, sleep=clock.sleep)
    shop.add_product(2, "demo_2")
    result = conn.write("prices", batch(price("demo_2", "16.658333", currency="USD")))
    assert "not in the shop's currency EUR" in result.failed["demo_2"]


def test_one_language_is_read_and_the_others_kept(
    context: ConnectorContext, shop: FakePrestaShop
) -> None:
    clock = FakeClock()
    conn = PrestaShopConnector(make_config(id_lang=1), context, clock=clock, sleep=clock.sleep)
    shop.add_product(2, "demo_2")
    names = dict(shop.products.rows[2]["name"])
    result = conn.write("prices", batch(price("demo_2", "12.500000")))
    assert result.written == 1, result.failed
    gets = [p for m, path, p in shop.requests if (m, path) == ("GET", "products/2")]
    assert gets == [{"language": "1"}]
    sent = etree.fromstring(shop.puts[0][1]).find("product/name")
    assert [lang.get("id") for lang in sent] == ["1"]
    assert shop.products.rows[2]["name"] == names


def test_the_default_mapping_writes_tax_excluded_prices(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    """19.99 with 20% VAT on the till's list is written 16.658333, as PrestaShop stores it."""
    plan = load_plan(Path(__file__).parents[2] / "mappings" / "defaults" / "poslog-prestashop.yaml")
    channel = plan.channel_price("webshop", "demo_2", {"default": Decimal("19.99")})
    fields = plan.price_fields("webshop")
    assert channel is not None and fields is not None
    item = PriceWrite(
        sku="demo_2",
        price=Money(amount=channel.price, currency=channel.currency),
        fields=fields(channel),
    )
    assert item.fields == {"price": "16.658333"}
    shop.add_product(2, "demo_2", price="10.000000")
    result = connector.write("prices", batch(item))
    assert result.written == 1, result.failed
    assert shop.products.rows[2]["price"] == "16.658333"
