"""Price writes: ``regular_price``/``sale_price`` as text, batched like stock, keys by SKU."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.connector import PriceWrite, WriteBatch
from bridge.mapping.loader import load_plan
from bridge.mapping.pricing import ChannelPrice
from bridge.model import Money
from connectors.woocommerce import WooCommerceConnector
from tests.woocommerce.woo_fakes import FakeWoo


def price(
    sku: str,
    amount: str,
    *,
    compare_at: str | None = None,
    currency: str = "EUR",
    fields: dict[str, Any] | None = None,
) -> PriceWrite:
    return PriceWrite(
        sku=sku,
        price=Money(amount=Decimal(amount), currency=currency),
        compare_at=None
        if compare_at is None
        else Money(amount=Decimal(compare_at), currency=currency),
        fields=fields or {},
    )


def test_mapped_fields_are_sent_as_text(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    tee = woo.add_product("TEE-RED-M", 3, price="19.90")
    jeans = woo.add_variation(1300, "JEANS-32-34", 2, price="89.00")
    items = [
        price("TEE-RED-M", "17.99", fields={"regular_price": Decimal("17.99")}),
        price(
            "JEANS-32-34",
            "79.00",
            fields={"regular_price": "89.00", "sale_price": Decimal("79.00"), "id": 1},
        ),
    ]
    result = connector.write("prices", WriteBatch("prices-1", items))
    assert result.written == 2 and not result.failed
    assert tee["regular_price"] == "17.99"
    assert (jeans["regular_price"], jeans["sale_price"]) == ("89.00", "79.00")
    sent = {endpoint: updates for endpoint, updates in woo.batches}
    assert sent["products"] == [{"id": tee["id"], "regular_price": "17.99"}]
    assert sent["products/1300/variations"] == [
        {"id": jeans["id"], "regular_price": "89.00", "sale_price": "79.00"}
    ]
    assert result.observed["JEANS-32-34"] == {
        "regular_price": Decimal("89.00"),
        "sale_price": Decimal("79.00"),
    }


def test_without_fields_the_price_is_the_regular_price(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    plain = woo.add_product("A", 1, price="10.00")
    plain["sale_price"] = "8.00"  # an old sale Brique's price replaces
    promo = woo.add_product("B", 1, price="10.00")
    items = [price("A", "12.5"), price("B", "9.99", compare_at="14.99")]
    result = connector.write("prices", WriteBatch("k", items))
    assert result.written == 2
    assert (plain["regular_price"], plain["sale_price"]) == ("12.5", "")
    assert (promo["regular_price"], promo["sale_price"]) == ("14.99", "9.99")


def test_prices_in_another_currency_are_refused(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    woo.add_product("A", 1)
    woo.add_product("B", 1)
    result = connector.write(
        "prices", WriteBatch("k", [price("A", "10.00", currency="USD"), price("B", "11.00")])
    )
    assert result.written == 1
    assert "not in the store's currency EUR" in result.failed["A"]
    assert len(woo.calls("GET", "/settings/general/woocommerce_currency")) == 1


def test_prices_batch_at_100_and_refusals_fail_alone(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    for n in range(120):
        woo.add_product(f"P{n:03d}", 1)
    bad = woo.by_sku("P007")
    woo.refusals[bad["id"]] = {
        "code": "rest_invalid_param",
        "message": "Invalid parameter(s): regular_price",
        "data": {"status": 400},
    }
    items = [price(f"P{n:03d}", "5.00") for n in range(120)] + [price("MISSING", "1.00")]
    result = connector.write("prices", WriteBatch("k", items))
    assert woo.batch_sizes() == [100, 20]
    assert result.written == 119
    assert set(result.failed) == {"P007", "MISSING"}
    assert result.failed["P007"].startswith("rest_invalid_param")


def test_a_later_duplicate_sku_wins(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    item = woo.add_product("A", 1)
    result = connector.write("prices", WriteBatch("k", [price("A", "1.00"), price("A", "2.00")]))
    assert result.written == 1 and item["regular_price"] == "2.00"


def test_the_sample_mapping_builds_sale_prices(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    """mappings/defaults/poslog-woocommerce.yaml: the price rules a WooCommerce mapping
    uses, through the connector as ``bridge.sync.push_prices`` would call it."""
    plan = load_plan(
        Path(__file__).parents[2] / "mappings" / "defaults" / "poslog-woocommerce.yaml"
    )
    build = plan.price_fields("webshop")
    assert build is not None
    promo = woo.add_product("PROMO", 1)
    plain = woo.add_product("PLAIN", 1)
    plain["sale_price"] = "5.00"
    items = []
    for sku, amount, compare_at in (("PROMO", "9.99", "14.99"), ("PLAIN", "12.00", None)):
        cp = ChannelPrice(
            sku, Decimal(amount), None if compare_at is None else Decimal(compare_at),
            "EUR", True, "default",
        )  # fmt: skip
        items.append(price(sku, amount, compare_at=compare_at, fields=build(cp)))
    result = connector.write("prices", WriteBatch("k", items))
    assert result.written == 2
    assert (promo["regular_price"], promo["sale_price"]) == ("14.99", "9.99")
    assert (plain["regular_price"], plain["sale_price"]) == ("12.00", "")
