"""Orders in: polling on updated_at, the last-page-repeat bug, cursors, decoding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bridge.connector import ConnectorContext, InboundEvent
from bridge.errors import DataError
from bridge.model import SaleBody, SaleStatus
from connectors.magento2 import Magento2Connector
from connectors.magento2.orders import decode_order
from tests.magento2.magento_fakes import FakeMagento, load, make_config

T0 = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)


def reader(page_size: int = 3, **settings) -> Magento2Connector:
    return Magento2Connector(
        make_config(page_size=page_size, **settings), ConnectorContext(connection="webshop")
    )


def keys(pages) -> list[str]:
    return [e.key for p in pages for e in p.events]


def pages_asked(shop: FakeMagento) -> list[str]:
    return [q["searchCriteria[currentPage]"] for q in shop.calls("GET", "/orders")]


def sale_of(payload) -> SaleBody:
    (body,) = decode_order(payload, "all")
    return body


# -- polling --------------------------------------------------------------------------------


def test_orders_are_polled_by_updated_at_with_resumable_cursors(shop: FakeMagento) -> None:
    for n, minutes in enumerate([5, 0, 0, 9, 2, 7, 0]):
        shop.make_order(41 + n, T0 + timedelta(minutes=minutes))
    pages = list(reader().read("orders"))
    assert keys(pages) == [
        "order/42@2026-01-15 10:00:00",
        "order/43@2026-01-15 10:00:00",
        "order/47@2026-01-15 10:00:00",
        "order/45@2026-01-15 10:02:00",
        "order/41@2026-01-15 10:05:00",
        "order/46@2026-01-15 10:07:00",
        "order/44@2026-01-15 10:09:00",
    ]
    assert [p.cursor for p in pages] == [
        "2026-01-15 10:00:00|42,43,47",
        "2026-01-15 10:07:00|46",
        "2026-01-15 10:09:00|44",
    ]
    # After new orders the read starts again at page 1 from the cursor; a page of orders all
    # read already (42, 43, 47 at 10:00:00) is followed by the next page number.
    assert pages_asked(shop) == ["1", "1", "2", "1"]
    first, second = shop.calls("GET", "/orders")[:2]
    assert first == {
        "searchCriteria[sortOrders][0][field]": "updated_at",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[sortOrders][1][field]": "entity_id",
        "searchCriteria[sortOrders][1][direction]": "ASC",
        "searchCriteria[pageSize]": "3",
        "searchCriteria[currentPage]": "1",
    }
    assert second["searchCriteria[filterGroups][0][filters][0][field]"] == "updated_at"
    assert second["searchCriteria[filterGroups][0][filters][0][value]"] == "2026-01-15 10:00:00"
    assert second["searchCriteria[filterGroups][0][filters][0][conditionType]"] == "gteq"
    event = pages[0].events[0]
    assert event.kind == "order" and event.occurred_at == T0
    assert isinstance(event.payload["grand_total"], Decimal)  # parse_float=Decimal
    assert "protect_code" not in event.payload


def test_resuming_from_a_cursor_reads_only_what_came_after(shop: FakeMagento) -> None:
    shop.seed_orders(5)
    pages = list(reader().read("orders"))
    cursor = pages[0].cursor
    assert keys(reader().read("orders", cursor)) == keys(pages[1:])
    assert list(reader().read("orders", pages[-1].cursor)) == []
    # Order 42 is invoiced: its new version is one new event, read from the last cursor.
    shop.orders[42]["updated_at"] = "2026-01-15 11:00:00"
    shop.orders[42]["state"] = "complete"
    assert keys(reader().read("orders", pages[-1].cursor)) == ["order/42@2026-01-15 11:00:00"]


def test_an_order_changed_later_in_the_same_second_is_still_read(shop: FakeMagento) -> None:
    shop.make_order(50, T0)
    shop.make_order(52, T0)
    pages = list(reader().read("orders"))
    assert pages[-1].cursor == "2026-01-15 10:00:00|50,52"
    shop.make_order(51, T0)  # committed after the read, stamped with the same second
    assert keys(reader().read("orders", pages[-1].cursor)) == ["order/51@2026-01-15 10:00:00"]


def test_a_second_shared_by_more_orders_than_a_page_is_read_once_each(
    shop: FakeMagento,
) -> None:
    shop.seed_orders(10, step=timedelta(0))  # ten orders in one second, pages of three
    shop.make_order(60, T0 + timedelta(seconds=1))
    pages = list(reader().read("orders"))
    read = keys(pages)
    assert len(read) == len(set(read)) == 11
    assert read[-1] == "order/60@2026-01-15 10:00:01"
    assert len({p.cursor for p in pages}) == len(pages)  # no cursor handed out twice
    # Page numbers are followed only over orders already read, never past total_count (11).
    assert max(int(p) for p in pages_asked(shop)) <= 4


@pytest.mark.parametrize("offset", [3, 500])
def test_the_last_page_repeat_bug_never_loops(shop: FakeMagento, offset: int) -> None:
    """A wrong total_count makes the reader ask past the end; Magento then answers the last
    page again, which is caught by comparing ids with the previous page."""
    shop.seed_orders(7, step=timedelta(0))
    shop.total_count_offset = offset
    pages = list(reader().read("orders"))
    read = keys(pages)
    assert len(read) == len(set(read)) == 7
    asked = pages_asked(shop)
    assert len(asked) < 20
    assert asked[-1] == "4"  # past the end: the repeat of page 3 ended the read


def test_without_total_count_a_repeated_page_ends_the_read(shop: FakeMagento) -> None:
    shop.seed_orders(6, step=timedelta(0))  # two full pages, then a page past the end
    shop.omit_total_count = True
    read = keys(reader().read("orders"))
    assert len(read) == len(set(read)) == 6
    assert pages_asked(shop)[-1] == "3"  # answered as page 2 again: stop


def test_orders_since_sets_where_the_first_read_starts(shop: FakeMagento) -> None:
    shop.seed_orders(4, step=timedelta(hours=1))
    connector = reader(orders_since=datetime(2026, 1, 15, 12, 30, tzinfo=UTC))
    assert keys(connector.read("orders")) == ["order/44@2026-01-15 13:00:00"]
    query = shop.calls("GET", "/orders")[0]
    assert query["searchCriteria[filterGroups][0][filters][0][value]"] == "2026-01-15 12:30:00"


def test_an_unreadable_cursor_is_a_data_error(connector: Magento2Connector) -> None:
    with pytest.raises(DataError, match="cursor"):
        list(connector.read("orders", "yesterday|41"))
    with pytest.raises(DataError, match="no stream"):
        list(connector.read("customers"))


# -- decoding -------------------------------------------------------------------------------


def test_an_order_decodes_to_a_web_sale() -> None:
    sale = sale_of(load("order_processing.json")).sale
    assert sale.channel == "web"
    assert sale.key.store == "1" and sale.key.transaction_id == "000000041"
    assert sale.status is SaleStatus.COMPLETED
    assert sale.occurred_at == datetime(2026, 1, 15, 9, 58, 12, tzinfo=UTC)
    assert sale.currency == "EUR"
    assert sale.total is not None and sale.total.amount == Decimal("73.41")
    shirt, mug = sale.lines
    # The configurable parent row is skipped; its child carries the SKU, the parent's money.
    assert (shirt.line_no, shirt.sku, shirt.quantity) == ("102", "TSHIRT-RED-M", 2)
    assert shirt.unit_price is not None and shirt.unit_price.amount == Decimal("24.95")
    assert shirt.amount is not None and shirt.amount.amount == Decimal("44.91")
    assert shirt.discount is not None and shirt.discount.amount == Decimal("4.99")
    assert (mug.line_no, mug.sku, mug.quantity) == ("103", "MUG-BLUE", 1)
    assert mug.amount is not None and mug.amount.amount == Decimal("12.1") and mug.discount is None
    (tender,) = sale.tenders
    assert tender.kind == "checkmo" and tender.amount.amount == Decimal("73.41")
    assert sale.customer is not None
    assert sale.customer.email == "camille.martin@example.com"
    assert sale.customer.name == "Camille Martin"
    assert sale.customer.channel_ids == {"magento2": "7"}


def test_decoding_after_the_inbox_round_trip_gives_the_same_sale(
    connector: Magento2Connector,
) -> None:
    """The inbox stores payloads as JSON with Decimals as text (``default=str``)."""
    payload = load("order_processing.json")
    stored = json.loads(json.dumps(payload, default=str))
    assert isinstance(stored["grand_total"], str)
    event = InboundEvent("order/41@2026-01-15 10:00:00", "order", stored)
    assert connector.decode(event) == [sale_of(payload)]


@pytest.mark.parametrize(
    ("state", "status", "expected"),
    [
        ("processing", "processing", SaleStatus.COMPLETED),
        ("complete", "shipped_and_paid", SaleStatus.COMPLETED),  # a merchant's own status
        ("canceled", "canceled", SaleStatus.CANCELLED),
        ("closed", "closed", SaleStatus.OTHER),
        ("new", "pending", SaleStatus.OTHER),
        ("holded", "holded", SaleStatus.OTHER),
        (None, "complete", SaleStatus.COMPLETED),
    ],
)
def test_status_mapping(state, status, expected) -> None:
    payload = load("order_processing.json")
    payload["state"], payload["status"] = state, status
    assert sale_of(payload).sale.status is expected


def test_a_bundle_is_sold_as_its_children() -> None:
    payload = load("order_processing.json")
    payload["items"] = [
        {"item_id": 7, "sku": "GIFT-BOX", "product_type": "bundle", "qty_ordered": 1,
         "price": 30, "row_total": 30},
        {"item_id": 8, "parent_item_id": 7, "sku": "MUG-BLUE", "product_type": "simple",
         "qty_ordered": 2, "price": Decimal("10.5"), "row_total": 21},
        {"item_id": 9, "parent_item_id": 7, "sku": "TEA-GREEN", "product_type": "simple",
         "qty_ordered": 1, "price": 9, "row_total": 9},
    ]  # fmt: skip
    lines = sale_of(payload).sale.lines
    assert [(line.sku, line.quantity) for line in lines] == [("MUG-BLUE", 2), ("TEA-GREEN", 1)]
    assert lines[0].amount is not None and lines[0].amount.amount == 21


def test_a_guest_order_keeps_its_email_and_no_customer_id() -> None:
    payload = load("order_processing.json")
    payload.update(customer_is_guest=1, customer_id=None, customer_firstname=None)
    customer = sale_of(payload).sale.customer
    assert customer is not None
    assert customer.email == "camille.martin@example.com" and customer.customer_id is None
    assert customer.name == "Camille Martin"  # from the billing address


def test_an_order_without_currency_or_sku_is_a_data_error() -> None:
    payload = load("order_processing.json")
    payload["items"][2]["sku"] = ""
    with pytest.raises(DataError, match="item 103"):
        decode_order(payload, "all")
    payload = load("order_processing.json")
    del payload["order_currency_code"], payload["base_currency_code"]
    with pytest.raises(DataError, match="currency"):
        decode_order(payload, "all")
