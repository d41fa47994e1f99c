"""Orders in: polling on date_upd, pagination, cursors, no loop, time zones, decoding."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import responses

from bridge.connector import ConnectorContext, InboundEvent
from bridge.errors import DataError
from bridge.model import SaleBody, SaleStatus
from connectors.prestashop import PrestaShopConnector
from connectors.prestashop.orders import local_datetime
from tests.prestashop.prestashop_fakes import (
    API,
    HEADERS,
    NOW,
    FakeClock,
    FakePrestaShop,
    data,
    make_config,
)

PARIS = ZoneInfo("Europe/Paris")


def keys(pages) -> list[str]:
    return [e.key for p in pages for e in p.events]


def seed(shop: FakePrestaShop) -> None:
    """Eight orders, some sharing a second, inserted out of date order."""
    shop.add_order(7, "2026-03-01 09:00:05")
    shop.add_order(3, "2026-03-01 09:00:00")
    shop.add_order(4, "2026-03-01 09:00:00")
    shop.add_order(5, "2026-03-01 09:00:00")
    shop.add_order(1, "2026-03-01 10:30:00")
    shop.add_order(2, "2026-03-01 10:30:00")
    shop.add_order(8, "2026-03-02 08:00:00")
    shop.add_order(6, "2026-03-02 12:59:59")


ALL = [
    "order/3/2026-03-01 09:00:00",
    "order/4/2026-03-01 09:00:00",
    "order/5/2026-03-01 09:00:00",
    "order/7/2026-03-01 09:00:05",
    "order/1/2026-03-01 10:30:00",
    "order/2/2026-03-01 10:30:00",
    "order/8/2026-03-02 08:00:00",
    "order/6/2026-03-02 12:59:59",
]


def test_polling_pages_through_orders_in_date_upd_order(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    seed(shop)
    pages = list(connector.read("orders"))
    assert keys(pages) == ALL
    assert [p.cursor for p in pages] == [
        "2026-03-01 09:00:00|5",
        "2026-03-01 10:30:00|2",
        "2026-03-02 08:00:00|8",
        "2026-03-02 12:59:59|6",
    ]
    queries = shop.calls("GET", "orders")
    first = queries[0][2]
    # Now is 13:00 in Paris (12:00 UTC, winter time): the window ends there.
    assert first == {
        "filter[date_upd]": "[1970-01-01 00:00:00,2026-03-02 13:00:00]",
        "date": "1",
        "sort": "[date_upd_ASC,id_ASC]",
        "limit": "0,3",
        "display": "full",
    }
    # Keyset pages: the first page is one second, read on by id; then from the next second;
    # then from the last order read, skipping what was read of its second.
    assert [(q["filter[date_upd]"], q.get("filter[id]"), q["limit"]) for _, _, q in queries] == [
        ("[1970-01-01 00:00:00,2026-03-02 13:00:00]", None, "0,3"),
        ("[2026-03-01 09:00:00,2026-03-01 09:00:00]", "[6,4294967295]", "0,3"),
        ("[2026-03-01 09:00:01,2026-03-02 13:00:00]", None, "0,3"),
        ("[2026-03-01 10:30:00,2026-03-02 13:00:00]", None, "0,3"),
        ("[2026-03-02 08:00:00,2026-03-02 13:00:00]", None, "0,3"),
    ]
    event = pages[0].events[0]
    assert event.kind == "order"
    assert event.occurred_at == datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
    assert "secure_key" not in event.payload
    assert event.payload["associations"]["order_rows"][0]["product_reference"] == "demo_2"


def test_resuming_from_a_cursor_reads_what_follows(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    seed(shop)
    pages = list(connector.read("orders", "2026-03-01 09:00:00|4"))
    assert keys(pages) == ALL[2:]
    queries = [p["filter[date_upd]"] for _, _, p in shop.calls("GET", "orders")]
    assert queries[0] == "[2026-03-01 09:00:00,2026-03-02 13:00:00]"


def test_nothing_new_reads_one_short_page(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    seed(shop)
    assert list(connector.read("orders", "2026-03-02 12:59:59|6")) == []
    assert len(shop.calls("GET", "orders")) == 1


def test_an_order_updated_during_the_read_is_not_skipped(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    """An order already read moves to the end when it changes; with offsets counted from the
    start that would shift the next page past an unread order."""
    seed(shop)
    fetched = []

    def update_order_3(method: str, path: str, params: dict) -> None:
        if path == "orders":
            fetched.append(params["limit"])
            if len(fetched) == 2:
                shop.orders.rows[3]["date_upd"] = "2026-03-02 12:59:59"
                shop.orders.rows[3]["current_state"] = "4"

    shop.on_request.append(update_order_3)
    read = keys(list(connector.read("orders")))
    assert read == [*ALL[:-1], "order/3/2026-03-02 12:59:59", ALL[-1]]


def test_a_second_shared_by_more_orders_than_a_page(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    for n in range(1, 8):
        shop.add_order(n, "2026-03-01 09:00:00")  # a bulk import: seven orders, one second
    shop.add_order(9, "2026-03-01 09:00:01")
    pages = list(connector.read("orders"))
    assert keys(pages) == [f"order/{n}/2026-03-01 09:00:00" for n in range(1, 8)] + [
        "order/9/2026-03-01 09:00:01"
    ]
    assert len({p.cursor for p in pages}) == len(pages)
    again = keys(list(connector.read("orders", "2026-03-01 09:00:00|4")))
    assert again == [f"order/{n}/2026-03-01 09:00:00" for n in range(5, 8)] + [
        "order/9/2026-03-01 09:00:01"
    ]


def test_a_shop_ignoring_limit_raises_instead_of_looping(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    seed(shop)
    shop.ignore_query = True  # e.g. a cache in front of the shop ignoring query strings
    pages = []
    with pytest.raises(DataError, match="repeats the previous page"):
        for page in connector.read("orders"):
            pages.append(page)
    assert keys(pages) == ALL[:3]  # the first page was new; the same page again is a loop
    assert len(shop.calls("GET", "orders")) == 2


def test_a_shop_ignoring_only_limit_still_reads_everything_once(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    seed(shop)
    shop.ignore_paging = True
    assert keys(list(connector.read("orders"))) == ALL


def test_orders_changed_in_the_last_seconds_wait_for_the_next_poll(
    context: ConnectorContext, shop: FakePrestaShop
) -> None:
    clock = FakeClock()
    conn = PrestaShopConnector(
        make_config(settle_seconds=30), context, clock=clock, sleep=clock.sleep, now=lambda: NOW
    )
    shop.add_order(1, "2026-03-02 12:59:00")
    shop.add_order(2, "2026-03-02 12:59:45")  # 15 s ago in shop time: maybe still saving
    assert keys(list(conn.read("orders"))) == ["order/1/2026-03-02 12:59:00"]
    assert shop.calls("GET", "orders")[0][2]["filter[date_upd]"].endswith(",2026-03-02 12:59:30]")


def test_orders_since_starts_the_first_poll(
    context: ConnectorContext, shop: FakePrestaShop
) -> None:
    clock = FakeClock()
    conn = PrestaShopConnector(
        make_config(orders_since="2026-03-01 10:00:00"),
        context,
        clock=clock,
        sleep=clock.sleep,
        now=lambda: NOW,
    )
    seed(shop)
    assert keys(list(conn.read("orders"))) == ALL[4:]


def test_the_end_of_summer_time_rereads_the_repeated_hour(
    context: ConnectorContext, shop: FakePrestaShop
) -> None:
    """At 03:00 on 2026-10-25 Paris clocks go back to 02:00: orders changed in the second
    02:xx carry dates before a cursor taken in the first one."""
    clock = FakeClock()
    now = datetime(2026, 10, 25, 2, 10, tzinfo=UTC)  # 03:10 in Paris, winter time again
    conn = PrestaShopConnector(
        make_config(), context, clock=clock, sleep=clock.sleep, now=lambda: now
    )
    shop.add_order(1, "2026-10-25 02:50:00")  # read before the change (summer time)
    shop.add_order(2, "2026-10-25 02:20:00")  # changed after it (winter time)
    read = keys(list(conn.read("orders", "2026-10-25 02:50:00|1")))
    assert "order/2/2026-10-25 02:20:00" in read
    assert shop.calls("GET", "orders")[0][2]["filter[date_upd]"] == (
        "[2026-10-25 01:50:00,2026-10-25 03:10:00]"
    )


def test_an_unreadable_order_is_rejected_and_the_rest_read(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    seed(shop)
    shop.orders.rows[4]["id"] = "four"
    pages = list(connector.read("orders"))
    assert "order/4/2026-03-01 09:00:00" not in keys(pages)
    assert len(keys(pages)) == 7
    rejections = [r for p in pages for r in p.rejections]
    assert len(rejections) == 1 and "numeric id" in rejections[0].error


def test_a_bad_cursor_is_a_data_error(connector: PrestaShopConnector) -> None:
    with pytest.raises(DataError, match="orders cursor"):
        list(connector.read("orders", "yesterday"))


def test_decode_gives_web_sales(connector: PrestaShopConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{API}orders", body=data("orders_display_full.xml"), headers=HEADERS)
        currency = mock.get(f"{API}currencies/1", body=data("currency_1.xml"), headers=HEADERS)
        events = [e for p in connector.read("orders") for e in p.events]
        bodies = [b for e in events for b in connector.decode(e)]
    assert currency.call_count == 1  # asked once, then cached
    assert [e.key for e in events] == [
        "order/5/2026-03-29 10:30:00",
        "order/6/2026-07-15 08:00:01",
    ]
    first, second = (b.sale for b in bodies if isinstance(b, SaleBody))
    assert first.channel == "web" and first.status is SaleStatus.COMPLETED
    assert first.key.store == "web" and first.key.transaction_id == "KHWLILZLL"
    assert first.currency == "EUR"
    assert first.total is not None and first.total.amount == Decimal("71.700000")
    # 15:13:53 in Paris on 28 March (winter time, +01:00)
    assert first.occurred_at == datetime(2026, 3, 28, 14, 13, 53, tzinfo=UTC)
    assert [(line.line_no, line.sku, line.quantity) for line in first.lines] == [
        ("13", "demo_2-black-s", Decimal(2)),
        ("14", "demo_2", Decimal(1)),
    ]
    assert first.lines[0].unit_price is not None
    assert first.lines[0].unit_price.amount == Decimal("23.900000")
    assert first.lines[0].description.startswith("Hummingbird printed t-shirt")
    # 23:59:59 in Paris on 14 July (summer time, +02:00); state 6 is Canceled
    assert second.occurred_at == datetime(2026, 7, 14, 21, 59, 59, tzinfo=UTC)
    assert second.status is SaleStatus.CANCELLED and second.stock_lines() == ()
    assert events[1].occurred_at == datetime(2026, 7, 15, 6, 0, 1, tzinfo=UTC)


def test_order_states_follow_the_table_then_valid_then_settings(
    context: ConnectorContext, shop: FakePrestaShop
) -> None:
    clock = FakeClock()
    conn = PrestaShopConnector(
        make_config(order_states={"20": "completed", "2": "suspended"}, id_shop=1),
        context,
        clock=clock,
        sleep=clock.sleep,
        now=lambda: NOW,
    )
    shop.add_order(1, "2026-03-01 09:00:00", state="10")  # awaiting bank wire
    shop.add_order(2, "2026-03-01 09:00:01", state="19")  # a module's state, valid=0
    shop.add_order(3, "2026-03-01 09:00:02", state="20")  # a module's state, set in settings
    shop.add_order(4, "2026-03-01 09:00:03", state="2")  # overridden in settings
    shop.add_order(5, "2026-03-01 09:00:04", state="8")  # payment error
    shop.orders.rows[2]["valid"] = "1"
    shop.orders.rows[2]["current_state"] = "21"
    sales = [b.sale for p in conn.read("orders") for e in p.events for b in conn.decode(e)]
    assert [s.status for s in sales] == [
        SaleStatus.SUSPENDED,
        SaleStatus.COMPLETED,
        SaleStatus.COMPLETED,
        SaleStatus.SUSPENDED,
        SaleStatus.OTHER,
    ]
    assert {s.key.store for s in sales} == {"1"}
    assert all(p == {"id_shop": "1"} for m, path, p in shop.calls("GET", "currencies/1"))


def test_an_order_row_without_reference_is_a_data_error(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.add_order(
        1,
        "2026-03-01 09:00:00",
        rows=[{"id": "3", "product_id": "9", "product_quantity": "1", "product_name": "Gift"}],
    )
    (event,) = [e for p in connector.read("orders") for e in p.events]
    with pytest.raises(DataError, match="row 3 \\(Gift\\) has no product_reference"):
        connector.decode(event)


def test_an_order_without_reference_is_keyed_by_its_id(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.add_order(12, "2026-03-01 09:00:00", reference="", currency=2)
    (event,) = [e for p in connector.read("orders") for e in p.events]
    (body,) = connector.decode(event)
    assert body.sale.key.transaction_id == "12" and body.sale.currency == "USD"


def test_unknown_event_kinds_are_refused(connector: PrestaShopConnector) -> None:
    with pytest.raises(DataError):
        connector.decode(InboundEvent(key="x", kind="cart", payload={}))


def test_shop_local_dates_convert_to_utc() -> None:
    assert local_datetime("2026-01-15 16:15:47", PARIS, "d") == datetime(
        2026, 1, 15, 15, 15, 47, tzinfo=UTC
    )
    assert local_datetime("2026-06-15 16:15:47", PARIS, "d") == datetime(
        2026, 6, 15, 14, 15, 47, tzinfo=UTC
    )
    new_york = ZoneInfo("America/New_York")
    assert local_datetime("2026-01-15 16:15:47", new_york, "d") == datetime(
        2026, 1, 15, 21, 15, 47, tzinfo=UTC
    )
    assert local_datetime("0000-00-00 00:00:00", PARIS, "d") is None
    assert local_datetime("", PARIS, "d") is None
    with pytest.raises(DataError, match="not a PrestaShop date"):
        local_datetime("15/01/2026", PARIS, "d")
