"""The ``orders`` stream: modified orders, oldest first, to the end, never looping, resumable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.connector import ConnectorContext
from bridge.errors import DataError
from connectors.woocommerce import WooCommerceConnector
from tests.woocommerce.test_woocommerce_webhooks import delivered
from tests.woocommerce.woo_fakes import FakeWoo, load, make_config

T0 = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)


def keys(pages: list) -> list[str]:
    return [e.key for p in pages for e in p.events]


def test_reads_every_order_to_the_end(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    woo.seed_orders(250)
    pages = list(connector.read("orders"))
    assert len(keys(pages)) == 250 and len(set(keys(pages))) == 250
    assert [len(p.events) for p in pages] == [100, 99, 51]  # pages overlap by one order
    first = woo.calls("GET", "/orders")[0]
    assert first == {
        "per_page": "100",
        "page": "1",
        "orderby": "modified",
        "order": "asc",
        "dates_are_gmt": "true",
    }
    later = woo.calls("GET", "/orders")[1]
    assert later["modified_after"] == "2026-01-15T11:38:59"  # one second before the cursor
    assert pages[-1].cursor == "2026-01-15T14:09:00|4249"
    assert all(e.kind == "order" for p in pages for e in p.events)
    assert pages[0].events[0].key == "order/4000@2026-01-15T10:00:00"


def test_an_empty_shop_reads_nothing(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    assert list(connector.read("orders")) == []
    assert len(woo.requests) == 1


def test_resuming_from_a_cursor_reads_only_what_came_after(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    woo.page_cap = 3
    woo.seed_orders(8)
    pages = list(connector.read("orders"))
    assert [len(p.events) for p in pages] == [3, 2, 2, 1]
    resumed = list(connector.read("orders", pages[0].cursor))
    assert keys(resumed) == keys(pages[1:])
    # Nothing new: the last cursor reads nothing.
    assert list(connector.read("orders", pages[-1].cursor)) == []
    # An order modified since (paid, shipped...) comes again, as a new version.
    woo.orders[4001]["date_modified_gmt"] = "2026-01-15T11:00:00"
    (page,) = list(connector.read("orders", pages[-1].cursor))
    assert [e.key for e in page.events] == ["order/4001@2026-01-15T11:00:00"]


def test_many_orders_in_one_second_are_all_read_once(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    """Bulk status changes stamp many orders with one second: the cursor keeps their ids."""
    woo.page_cap = 3
    woo.seed_orders(7, step=timedelta(0))
    woo.seed_orders(2)
    pages = list(connector.read("orders"))
    assert sorted(keys(pages)) == sorted(
        f"order/{o['id']}@{o['date_modified_gmt']}" for o in woo.orders.values()
    )
    assert len(keys(pages)) == 9
    cursors = [p.cursor for p in pages]
    assert len(set(cursors)) == len(cursors)
    assert cursors[0] == "2026-01-15T10:00:00|4000,4001,4002"


def test_a_server_ignoring_page_numbers_does_not_loop(
    connector: WooCommerceConnector, woo: FakeWoo
) -> None:
    woo.page_cap = 5
    woo.seed_orders(20)
    woo.ignore_paging = True  # always the first page, whatever page or modified_after say
    pages = list(connector.read("orders"))
    assert len(keys(pages)) == 5
    assert len(woo.calls("GET", "/orders")) == 3  # the page, its repeat as page 1, page 2


def test_orders_since_and_local_dates(context: ConnectorContext, woo: FakeWoo) -> None:
    connector = WooCommerceConnector(
        make_config(
            orders_since=datetime(2026, 1, 15, 10, 3, 0),
            dates_are_gmt=False,
            site_timezone="Europe/Paris",
        ),
        context,
    )
    woo.seed_orders(6)
    pages = list(connector.read("orders"))
    assert [e.key.split("@")[0] for e in pages[0].events] == [
        "order/4003",
        "order/4004",
        "order/4005",
    ]
    query = woo.calls("GET", "/orders")[0]
    assert "dates_are_gmt" not in query
    assert query["modified_after"] == "2026-01-15T11:02:59"  # site time, UTC+1


def test_unknown_stream_and_bad_cursor(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    with pytest.raises(DataError, match="no stream"):
        connector.read("customers")
    with pytest.raises(DataError, match="cursor"):
        list(connector.read("orders", "yesterday|1"))


def test_polled_and_webhook_keys_match(connector: WooCommerceConnector, woo: FakeWoo) -> None:
    woo.add_order(load("order_processing.json"))
    (page,) = list(connector.read("orders"))
    (event,) = connector.parse_webhook(delivered("order.updated", "order_processing.json"))
    assert [e.key for e in page.events] == [event.key]
    assert T0 < page.events[0].occurred_at  # type: ignore[operator]
