"""Square orders to canonical sales: minor units to Decimal, tenders, itemized returns."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bridge.connector import ConnectorContext, InboundEvent
from bridge.errors import DataError
from bridge.model import Money, SaleBody, SaleStatus, TicketLink
from connectors.square import SquareConnector
from connectors.square.connector import VARIATION_ENTITY
from connectors.square.money import exponent, minor_to_decimal, to_money
from connectors.square.orders import decode_order, event_key
from tests.square.square_fake import (
    CATALOG,
    ITEM_COFFEE,
    ITEM_SHIRT,
    LOC_NY,
    FakeSquare,
    load,
    settings,
)


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def sale_of(order: dict, sku_of=lambda item: CATALOG.get(item, item)):
    return decode_order(order, sku_of).sale


def no_floats(value) -> bool:
    """True when nothing inside a dumped model is a float."""
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(no_floats(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(no_floats(v) for v in value)
    return True


# -- money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1999, "USD", "19.99"),
        (5, "EUR", "0.05"),
        (0, "USD", "0.00"),
        (-1799, "USD", "-17.99"),
        (1480, "JPY", "1480"),
        (1250, "KWD", "1.250"),
        (123456789012345678, "USD", "1234567890123456.78"),
    ],
)
def test_minor_units_become_exact_decimals(amount: int, currency: str, expected: str) -> None:
    value = minor_to_decimal(amount, currency)
    assert isinstance(value, Decimal)
    assert str(value) == expected


def test_currency_exponents_follow_iso_4217() -> None:
    assert (exponent("USD"), exponent("jpy"), exponent("KRW"), exponent("BHD")) == (2, 0, 0, 3)


@pytest.mark.parametrize("amount", [19.99, True, None, "12.5", "abc"])
def test_a_non_integer_amount_is_refused(amount) -> None:
    with pytest.raises(DataError, match="minor units"):
        minor_to_decimal(amount, "USD")


def test_money_object_needs_a_currency() -> None:
    with pytest.raises(DataError, match="currency"):
        to_money({"amount": 100}, "total_money")


# -- a sale with card and cash ----------------------------------------------------------


def test_sale_with_card_and_cash_tenders() -> None:
    sale = sale_of(load("order_card_cash.json"))
    assert sale.key.store == LOC_NY
    assert sale.key.transaction_id == "CAISENgvlJ6jLWAzERDzjyHVybY"
    assert sale.key.as_string() == f"{LOC_NY}/tx/CAISENgvlJ6jLWAzERDzjyHVybY"
    assert sale.channel == "store"
    assert sale.status is SaleStatus.COMPLETED
    assert sale.occurred_at == datetime(2026, 11, 20, 17, 3, 4, 962000, tzinfo=UTC)
    assert sale.currency == "USD"
    assert sale.total == usd("48.26")
    # The failed card attempt took no money; the card and the cash paid the ticket.
    assert [(t.kind, t.amount, t.refund) for t in sale.tenders] == [
        ("card", usd("30.00"), False),
        ("cash", usd("18.26"), False),
    ]
    assert sum(t.amount.amount for t in sale.tenders) == sale.total.amount
    assert sale.customer is not None
    assert sale.customer.channel_ids == {"square": "JDKYHBWT1D4F8MFH63DBMEN8Y4"}


def test_sale_lines_keep_decimal_prices_and_quantities() -> None:
    sale = sale_of(load("order_card_cash.json"))
    shirt, coffee = sale.lines  # the custom amount line moves no stock and has no SKU
    assert shirt.line_no == "m2oTIiULS1p1CGTbymqLz"
    assert shirt.sku == "LINEN-L-SAND"
    assert shirt.quantity == Decimal(2)
    assert shirt.unit_price == usd("19.99")
    assert shirt.amount == usd("35.98")
    assert shirt.discount == usd("4.00")
    assert shirt.description == "Linen Shirt - Large, Sand"
    assert coffee.quantity == Decimal("0.455")
    assert coffee.unit == "IMPERIAL_POUND"
    assert coffee.unit_price == usd("16.00")
    assert coffee.amount == usd("7.28")
    assert coffee.discount is None
    assert coffee.description == "House Coffee Beans"
    assert no_floats(SaleBody(sale=sale).model_dump())


def test_jpy_has_no_minor_unit() -> None:
    sale = sale_of(load("order_jpy.json"))
    (line,) = sale.lines
    assert line.unit_price == Money(amount=Decimal("1480"), currency="JPY")
    assert line.amount == Money(amount=Decimal("4440"), currency="JPY")
    assert sale.total == Money(amount=Decimal("4440"), currency="JPY")
    assert [(t.kind, t.amount.amount) for t in sale.tenders] == [("gift_card", Decimal("4440"))]
    assert line.sku == "MATCHA-40G"


def test_an_itemized_return_is_negative_and_linked_to_its_sale() -> None:
    sale = sale_of(load("order_return.json"))
    assert sale.status is SaleStatus.COMPLETED
    (line,) = sale.lines
    assert line.is_return
    assert line.line_no == "return:Q5kWjBIm3tNrGBMiuTA4V"
    assert line.sku == "LINEN-L-SAND"
    assert line.quantity == Decimal(-1)
    assert line.amount == usd("-17.99")
    assert line.unit_price == usd("19.99")
    assert line.link == TicketLink(
        transaction_id="CAISENgvlJ6jLWAzERDzjyHVybY", line="m2oTIiULS1p1CGTbymqLz"
    )
    assert sale.link == TicketLink(transaction_id="CAISENgvlJ6jLWAzERDzjyHVybY")
    assert sale.total == usd("-17.99")
    # The refund points at the sale's card tender, which this return order does not hold.
    assert [(t.kind, t.amount, t.refund) for t in sale.tenders] == [("unknown", usd("17.99"), True)]
    assert sale.stock_lines() == (line,)


def test_an_exchange_has_sold_and_returned_lines() -> None:
    order = load("order_return.json")
    order["line_items"] = [load("order_jpy.json")["line_items"][0] | {"uid": "X1"}]
    for money in ("base_price_money", "total_money", "total_discount_money"):
        order["line_items"][0][money] = {"amount": 2500, "currency": "USD"}
    sale = sale_of(order)
    assert [(line.line_no, line.quantity) for line in sale.lines] == [
        ("X1", Decimal(3)),
        ("return:Q5kWjBIm3tNrGBMiuTA4V", Decimal(-1)),
    ]


@pytest.mark.parametrize(
    ("state", "status"),
    [("COMPLETED", SaleStatus.COMPLETED), ("CANCELED", SaleStatus.CANCELLED),
     ("OPEN", SaleStatus.OTHER), ("DRAFT", SaleStatus.OTHER)],
)  # fmt: skip
def test_order_states(state: str, status: SaleStatus) -> None:
    order = load("order_jpy.json") | {"state": state}
    sale = sale_of(order)
    assert sale.status is status
    assert bool(sale.stock_lines()) == (status is SaleStatus.COMPLETED)


def test_event_keys_use_the_version_or_updated_at() -> None:
    assert event_key(load("order_card_cash.json")) == "CAISENgvlJ6jLWAzERDzjyHVybY@v4"
    # Orders rung up in Square Point of Sale carry no version.
    assert event_key(load("order_jpy.json")) == (
        "r5xGdaqTmv3Dju6zWWbyaq1yvnEZY@2026-11-21T03:11:12.000Z"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"location_id": None}, "no 'location_id'"),
        ({"line_items": [{"uid": "a", "catalog_object_id": "X", "quantity": 1.5}]}, "quantity"),
        ({"line_items": [{"uid": "a", "catalog_object_id": "X", "quantity": "x"}]}, "quantity"),
        (
            {"total_money": {"amount": 12.5, "currency": "USD"}},
            "not an integer amount in minor units",
        ),
    ],
)
def test_malformed_orders_are_data_errors(change: dict, message: str) -> None:
    order = load("order_jpy.json") | change
    with pytest.raises(DataError, match=message):
        decode_order(order, lambda item: item)


# -- through the connector: SKUs from bindings or the catalog ----------------------------


def order_event(order: dict) -> InboundEvent:
    return InboundEvent(key=event_key(order), kind="order", payload=order)


def test_decode_reads_skus_from_the_catalog_once_and_binds_them(
    connector: SquareConnector, square: FakeSquare, context: ConnectorContext
) -> None:
    (body,) = connector.decode(order_event(load("order_card_cash.json")))
    assert [line.sku for line in body.sale.lines] == ["LINEN-L-SAND", "COFFEE-HOUSE-LB"]
    assert context.bindings.get_external(VARIATION_ENTITY, "LINEN-L-SAND") == ITEM_SHIRT
    lookups = [c for c in square.calls if c[1] == "/v2/catalog/batch-retrieve"]
    assert len(lookups) == 1
    assert sorted(lookups[0][2]["object_ids"]) == sorted([ITEM_SHIRT, ITEM_COFFEE])
    connector.decode(order_event(load("order_return.json")))
    assert len([c for c in square.calls if c[1] == "/v2/catalog/batch-retrieve"]) == 1


def test_decode_without_sku_resolution_keeps_variation_ids(
    square: FakeSquare, context: ConnectorContext
) -> None:
    conn = SquareConnector(settings(resolve_skus=False), context)
    (body,) = conn.decode(order_event(load("order_card_cash.json")))
    assert [line.sku for line in body.sale.lines] == [ITEM_SHIRT, ITEM_COFFEE]
    assert not square.calls


def test_decode_ignores_locations_the_connection_does_not_read(
    connector: SquareConnector,
) -> None:
    order = load("order_card_cash.json") | {"location_id": "LOTHERSTORE00"}
    assert connector.decode(order_event(order)) == []
