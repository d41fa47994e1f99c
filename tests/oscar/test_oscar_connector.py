"""The Oscar connector over the scripted oscar-api admin API (``oscar_fake``)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from bridge.connector import ConnectorContext, PriceWrite, StockWrite, WriteBatch
from bridge.errors import AuthError, ConfigError, DataError
from bridge.http import without_backoff
from bridge.model import Money, SaleStatus
from connectors.oscar import OscarConnector
from tests.oscar.oscar_fake import PARTNER, PASSWORD, SITE, USER, FakeOscar

SKU = "SKU-TSHIRT-BLUE"


@pytest.fixture
def shop() -> Iterator[FakeOscar]:
    fake = FakeOscar()
    fake.add_product(SKU, stock=10)
    fake.add_product("SKU-OTHER", stock=5, partner=2)
    with without_backoff(), fake.serving():
        yield fake


def make(**overrides: object) -> OscarConnector:
    settings = {"base_url": SITE, "username": USER, "password": PASSWORD, "partner": PARTNER}
    settings.update(overrides)
    return OscarConnector.from_settings(settings, ConnectorContext("webshop"))


def stock(sku: str, quantity: int, previous: int | None = None, loc: str = PARTNER):
    return StockWrite(
        sku=sku,
        location=loc,
        quantity=Decimal(quantity),
        previous=None if previous is None else Decimal(previous),
    )


def test_check_passes_and_refuses(shop: FakeOscar) -> None:
    make().check()
    with pytest.raises(ConfigError, match="'nope' is not an Oscar partner"):
        make(partner="nope").check()
    shop.auth_ok = False
    with pytest.raises(AuthError):
        make().check()
    shop.auth_ok = True
    shop.answer_status(404)
    with pytest.raises(ConfigError, match="OSCARAPI_BLOCK_ADMIN_API_ACCESS = False"):
        make().check()


def test_config_needs_credentials_and_https() -> None:
    with pytest.raises(ConfigError, match="username and password"):
        OscarConnector.from_settings(
            {"base_url": SITE, "partner": PARTNER}, ConnectorContext("webshop")
        )
    with pytest.raises(ConfigError, match="https"):
        make(base_url="http://shop.example.com")
    assert PASSWORD not in repr(make().config)


def test_stock_write_patches_num_in_stock_and_binds_the_record(shop: FakeOscar) -> None:
    conn = make()
    result = conn.write("stock", WriteBatch("k1", [stock(SKU, 8, previous=10)]))
    assert result.written == 1 and not result.failed and not result.stale
    assert shop.records[1]["num_in_stock"] == 8
    assert shop.patches == [(1, {"num_in_stock": 8})]
    assert conn.context.bindings.get_external("oscar_stockrecord", SKU) == "1"
    # a replay reads the record, finds the target and sends nothing
    again = conn.write("stock", WriteBatch("k1", [stock(SKU, 8, previous=10)]))
    assert again.written == 1 and len(shop.patches) == 1
    assert not any("admin/products" in url for _, url in shop.requests[-2:])


def test_stock_compare_and_set_is_never_forced(shop: FakeOscar) -> None:
    shop.records[1]["num_in_stock"] = 6  # a hand edit behind Brique
    result = make().write("stock", WriteBatch("k2", [stock(SKU, 8, previous=10)]))
    assert result.stale == {f"{SKU}@{PARTNER}": Decimal(6)}
    assert result.written == 0 and not shop.patches


def test_stock_refusals(shop: FakeOscar) -> None:
    items = [
        stock("SKU-UNKNOWN", 1),
        stock("SKU-OTHER", 1),  # another partner's record
        stock(SKU, 1, loc="warehouse"),
        StockWrite(sku=SKU, location=PARTNER, quantity=Decimal("1.5")),
    ]
    result = make().write("stock", WriteBatch("k3", items))
    assert set(result.failed) == {
        f"SKU-UNKNOWN@{PARTNER}",
        f"SKU-OTHER@{PARTNER}",
        f"{SKU}@warehouse",
        f"{SKU}@{PARTNER}",
    }
    assert "whole units" in result.failed[f"{SKU}@{PARTNER}"]
    assert not shop.patches


def test_negative_stock_is_written_as_zero(shop: FakeOscar) -> None:
    result = make().write("stock", WriteBatch("k4", [stock(SKU, -3)]))
    assert result.written == 1 and shop.records[1]["num_in_stock"] == 0


def test_a_deleted_record_is_resolved_again(shop: FakeOscar) -> None:
    conn = make()
    conn.context.bindings.put("oscar_stockrecord", SKU, "99")
    result = conn.write("stock", WriteBatch("k5", [stock(SKU, 4)]))
    assert result.written == 1 and shop.records[1]["num_in_stock"] == 4


def test_upc_as_sku(shop: FakeOscar) -> None:
    shop.products[1]["upc"] = "4006381333931"
    result = make(sku_field="upc").write("stock", WriteBatch("k6", [stock("4006381333931", 3)]))
    assert result.written == 1 and shop.records[1]["num_in_stock"] == 3


def test_prices_patch_the_record_price_in_its_currency(shop: FakeOscar) -> None:
    eur = PriceWrite(
        sku=SKU, price=Money(amount=Decimal("24.99"), currency="EUR"), fields={"price": "24.99"}
    )
    usd = PriceWrite(sku=SKU, price=Money(amount=Decimal("24.99"), currency="USD"))
    conn = make()
    result = conn.write("prices", WriteBatch("p1", [eur]))
    assert result.written == 1 and shop.records[1]["price"] == "24.99"
    assert shop.patches[-1] == (1, {"price": "24.99"})
    refused = conn.write("prices", WriteBatch("p2", [usd]))
    assert "currency EUR" in refused.failed[SKU]
    odd = PriceWrite(sku=SKU, price=eur.price, fields={"price": "1", "title": "x"})
    assert "title" in conn.write("prices", WriteBatch("p3", [odd])).failed[SKU]


def test_read_stock(shop: FakeOscar) -> None:
    levels = make().read_stock([(SKU, PARTNER), ("SKU-UNKNOWN", PARTNER), (SKU, "warehouse")])
    assert levels == {(SKU, PARTNER): Decimal(10)}


def test_orders_are_read_once_oldest_first_and_decoded(shop: FakeOscar) -> None:
    shop.add_order("100001", [(1, 2, "39.98")])
    shop.add_order("100002", [(1, 1, "19.99")], status="Cancelled")
    conn = make(page_size=1)
    pages = list(conn.read("orders"))
    assert [e.key for p in pages for e in p.events] == ["order/100001", "order/100002"]
    (body,) = conn.decode(pages[0].events[0])
    sale = body.sale
    assert sale.channel == "web" and sale.key.store == "web"
    assert sale.key.transaction_id == "100001" and sale.status is SaleStatus.COMPLETED
    (line,) = sale.lines
    assert (line.sku, line.quantity) == (SKU, Decimal(2))
    assert line.unit_price == Money(amount=Decimal("19.99"), currency="EUR")
    assert sale.customer is not None and sale.customer.email == "jane@example.com"
    (cancelled,) = conn.decode(pages[1].events[0])
    assert cancelled.sale.status is SaleStatus.CANCELLED
    # resuming after the last page reads nothing; a new order is read alone
    assert [e for p in conn.read("orders", pages[-1].cursor) for e in p.events] == []
    shop.add_order("100003", [(1, 1, "19.99")])
    fresh = [e.key for p in conn.read("orders", pages[-1].cursor) for e in p.events]
    assert fresh == ["order/100003"]


def test_an_order_line_of_an_unknown_record_is_a_data_error(shop: FakeOscar) -> None:
    shop.add_order("100009", [(1, 1, "19.99")])
    conn = make()
    (event,) = [e for p in conn.read("orders") for e in p.events]
    payload = dict(event.payload)
    payload["lines"] = [{**payload["lines"][0], "sku": None}]
    with pytest.raises(DataError, match="no SKU"):
        conn.decode(type(event)(key=event.key, kind=event.kind, payload=payload))
