"""The Vendure connector over the scripted Admin GraphQL API (``vendure_fake``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from bridge.connector import ConnectorContext, PriceWrite, StockWrite, WriteBatch
from bridge.errors import AuthError, ConfigError, DataError
from bridge.http import without_backoff
from bridge.model import Money, SaleStatus
from connectors.vendure import VendureConnector
from connectors.vendure.orders import decimal_to_minor, minor_to_decimal
from tests.vendure.vendure_fake import LOCATION, PASSWORD, T0, URL, USER, FakeVendure

SKU = "SKU-TSHIRT-BLUE"


@pytest.fixture
def shop() -> Iterator[FakeVendure]:
    fake = FakeVendure()
    fake.add_variant(SKU, stock=10)
    fake.add_variant("SKU-OTHER", stock=5)
    with without_backoff(), fake.serving():
        yield fake


def make(**overrides: object) -> VendureConnector:
    settings = {"admin_api_url": URL, "username": USER, "password": PASSWORD}
    settings.update(overrides)
    return VendureConnector.from_settings(settings, ConnectorContext("webshop"))


def stock(sku: str, quantity: int, previous: int | None = None, loc: str = LOCATION):
    return StockWrite(
        sku=sku,
        location=loc,
        quantity=Decimal(quantity),
        previous=None if previous is None else Decimal(previous),
    )


def price(sku: str, text: str, currency: str = "EUR") -> PriceWrite:
    return PriceWrite(
        sku=sku, price=Money(amount=Decimal(text), currency=currency), fields={"price": text}
    )


def test_check_logs_in_and_refuses_bad_credentials(shop: FakeVendure) -> None:
    make().check()
    assert shop.operations[:2] == ["BriqueLogin", "BriqueCheck"]
    with pytest.raises(AuthError, match="INVALID_CREDENTIALS_ERROR"):
        make(password="wrong").check()
    shop.answer_status(401)
    with pytest.raises(AuthError):
        make().check()


def test_config_needs_credentials_and_https_and_hides_secrets() -> None:
    with pytest.raises(ConfigError, match="username and password"):
        VendureConnector.from_settings({"admin_api_url": URL}, ConnectorContext("webshop"))
    with pytest.raises(ConfigError, match="https"):
        make(admin_api_url="http://shop.example.com/admin-api")
    conn = make(channel_token="chan-secret-1")
    assert PASSWORD not in repr(conn.config) and "chan-secret-1" not in repr(conn.config)


def test_channel_token_is_sent(shop: FakeVendure) -> None:
    conn = make(channel_token="cgz91zbplypamzj8moa")
    assert conn.client.session.headers["vendure-token"] == "cgz91zbplypamzj8moa"


def test_an_expired_session_logs_in_again(shop: FakeVendure) -> None:
    conn = make()
    conn.check()
    shop.sessions.clear()
    assert conn.read_stock([(SKU, LOCATION)]) == {(SKU, LOCATION): Decimal(10)}
    assert shop.logins == 2
    shop.password = "changed"
    shop.sessions.clear()
    with pytest.raises(AuthError):
        conn.read_stock([(SKU, LOCATION)])


def test_stock_write_sets_the_location_level_and_binds_the_variant(shop: FakeVendure) -> None:
    conn = make()
    result = conn.write("stock", WriteBatch("k1", [stock(SKU, 8, previous=10)]))
    assert result.written == 1 and not result.failed and not result.stale
    assert result.observed == {f"{SKU}@{LOCATION}": Decimal(8)}
    assert shop.updates == [
        [{"id": "1", "stockLevels": [{"stockLocationId": "1", "stockOnHand": 8}]}]
    ]
    assert conn.context.bindings.get_external("vendure_variant", SKU) == "1"
    # a replay reads the variant by its bound id, finds the target and sends nothing
    again = conn.write("stock", WriteBatch("k1", [stock(SKU, 8, previous=10)]))
    assert again.written == 1 and len(shop.updates) == 1
    assert shop.operations[-1] == "BriqueVariantsById"


def test_stock_compare_and_set_is_never_forced(shop: FakeVendure) -> None:
    conn = make()
    shop.variants["1"]["levels"][LOCATION] = 7  # sold on the web meanwhile
    result = conn.write("stock", WriteBatch("k", [stock(SKU, 8, previous=10)]))
    assert result.stale == {f"{SKU}@{LOCATION}": Decimal(7)}
    assert result.written == 0 and not shop.updates
    # without previous: written
    assert conn.write("stock", WriteBatch("k", [stock(SKU, 8)])).written == 1


def test_stock_refusals_fail_only_their_items(shop: FakeVendure) -> None:
    conn = make()
    result = conn.write(
        "stock",
        WriteBatch(
            "k",
            [
                stock(SKU, 4),
                stock("NOPE", 1),
                stock("SKU-OTHER", 3, loc="77"),
                StockWrite(sku=SKU, location="1", quantity=Decimal("1.5")),
            ],
        ),
    )
    assert result.failed == {
        "NOPE@1": "SKU 'NOPE' is no product variant of this Vendure channel",
        "SKU-OTHER@77": "vendure stock update: FOREIGN KEY constraint failed",
        "SKU-TSHIRT-BLUE@1": "quantity 1.5 is not a whole number; Vendure keeps whole units",
    }
    assert result.written == 0  # the later fractional item replaced the first for that key
    # the mixed call was refused as one transaction, then retried item by item
    assert len(shop.updates) == 1
    ok = conn.write("stock", WriteBatch("k", [stock(SKU, 4), stock("SKU-OTHER", 3, loc="77")]))
    assert ok.written == 1 and list(ok.failed) == ["SKU-OTHER@77"]
    assert [len(u) for u in shop.updates[1:]] == [2, 1, 1]
    assert shop.variants["1"]["levels"][LOCATION] == 4


def test_stock_location_id_restricts_the_connection(shop: FakeVendure) -> None:
    conn = make(stock_location_id="2")
    result = conn.write("stock", WriteBatch("k", [stock(SKU, 4)]))
    assert "not this connection's stock location '2'" in result.failed[f"{SKU}@1"]
    assert conn.read_stock([(SKU, "1")]) == {}


def test_a_deleted_variant_is_resolved_again(shop: FakeVendure) -> None:
    conn = make()
    conn.write("stock", WriteBatch("k", [stock(SKU, 9)]))
    moved = shop.variants.pop("1")
    moved["id"] = "9"
    shop.variants["9"] = moved
    assert conn.write("stock", WriteBatch("k", [stock(SKU, 6)])).written == 1
    assert conn.context.bindings.get_external("vendure_variant", SKU) == "9"


def test_prices_are_sent_in_minor_units_exactly(shop: FakeVendure) -> None:
    conn = make()
    result = conn.write(
        "prices",
        WriteBatch(
            "p",
            [
                price(SKU, "24.99"),
                price("SKU-OTHER", "24.999"),
                price("NOPE", "1.00"),
            ],
        ),
    )
    assert result.written == 1 and result.observed == {SKU: {"price": 2499}}
    assert shop.updates == [[{"id": "1", "price": 2499}]]
    assert "more decimals than EUR's 2" in result.failed["SKU-OTHER"]
    assert "no product variant" in result.failed["NOPE"]
    again = conn.write("prices", WriteBatch("p", [price(SKU, "24.99")]))
    assert again.written == 1 and len(shop.updates) == 1
    wrong = conn.write("prices", WriteBatch("p", [price(SKU, "30.00", currency="USD")]))
    assert "not in the channel's currency EUR" in wrong.failed[SKU]
    bad = conn.write(
        "prices",
        WriteBatch(
            "p",
            [PriceWrite(sku=SKU, price=Money(amount=Decimal(1), currency="EUR"), fields={"x": 1})],
        ),
    )
    assert "not Vendure variant price fields" in bad.failed[SKU]


def test_minor_units_follow_the_currency_exponent() -> None:
    assert minor_to_decimal(2379, "EUR") == Decimal("23.79")
    assert minor_to_decimal(500, "JPY") == Decimal(500)
    assert minor_to_decimal(1234, "KWD") == Decimal("1.234")
    assert decimal_to_minor(Decimal("19.9"), "EUR") == 1990
    assert decimal_to_minor(Decimal("500"), "JPY") == 500
    with pytest.raises(DataError):
        decimal_to_minor(Decimal("5.5"), "JPY")


def test_orders_are_read_once_by_updated_at_without_skip(shop: FakeVendure) -> None:
    conn = make(page_size=2)
    shop.add_order("AAA", [("1", 2, 2379)], updated=T0)
    shop.add_order("BBB", [("1", 1, 2379)], updated=T0)  # the same second
    shop.add_order("CART", [("2", 1, 2379)], updated=T0, state="AddingItems")
    shop.add_order("CCC", [("2", 3, 1000)], updated=T0 + timedelta(seconds=5))
    pages = list(conn.read("orders"))
    keys = [e.key for p in pages for e in p.events]
    assert keys == ["order/AAA/completed", "order/BBB/completed", "order/CCC/completed"]
    assert pages[0].cursor == "2026-11-23T17:14:40.000Z|1,2"
    assert list(conn.read("orders", pages[-1].cursor)) == []
    # resuming mid-instant reads the rest of it, once
    rest = [e.key for p in conn.read("orders", "2026-11-23T17:14:40.000Z|1") for e in p.events]
    assert rest == ["order/BBB/completed", "order/CCC/completed"]
    # a cancellation moves updatedAt and is a new event
    shop.orders["1"].update(state="Cancelled", updated=T0 + timedelta(seconds=9))
    later = [e for p in conn.read("orders", pages[-1].cursor) for e in p.events]
    assert [e.key for e in later] == ["order/AAA/cancelled"]
    (body,) = conn.decode(later[0])
    assert body.sale.status is SaleStatus.CANCELLED
    assert not any("skip" in op for op in shop.operations)


def test_orders_decode_to_web_sales(shop: FakeVendure) -> None:
    conn = make()
    shop.add_order("79WSXB83JWG7LNT6", [("1", 3, 2379)])
    ((event,),) = [p.events for p in conn.read("orders")]
    (body,) = conn.decode(event)
    sale = body.sale
    assert sale.channel == "web" and sale.status is SaleStatus.COMPLETED
    assert sale.key.store == "web" and sale.key.transaction_id == "79WSXB83JWG7LNT6"
    assert sale.currency == "EUR" and sale.total == Money(amount=Decimal("71.37"), currency="EUR")
    (line,) = sale.lines
    assert line.sku == SKU and line.quantity == 3
    assert line.unit_price == Money(amount=Decimal("23.79"), currency="EUR")
    assert sale.customer is not None and sale.customer.email == "jane@example.com"
    with pytest.raises(DataError, match="a basket, not a sale"):
        conn.decode(
            event.__class__(event.key, event.kind, {**event.payload, "state": "AddingItems"})
        )
