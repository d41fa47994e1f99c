"""Oscar's ``order_statuses`` stream: a status set after an order was read reaches Brique."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bridge.connector import ConnectorContext
from bridge.errors import DataError
from bridge.http import without_backoff
from bridge.model import SaleStatus
from connectors.oscar import OscarConnector
from connectors.oscar.order_status import read_statuses
from tests.oscar.oscar_fake import PARTNER, PASSWORD, SITE, T0, USER, FakeOscar

SKU = "SKU-TSHIRT-BLUE"
NOW = T0 + timedelta(days=1)


@pytest.fixture
def shop() -> Iterator[FakeOscar]:
    fake = FakeOscar()
    fake.add_product(SKU, stock=10)
    with without_backoff(), fake.serving():
        yield fake


def make(**overrides: object) -> OscarConnector:
    settings = {"base_url": SITE, "username": USER, "password": PASSWORD, "partner": PARTNER}
    settings.update(overrides)
    return OscarConnector.from_settings(settings, ConnectorContext("webshop"))


def poll(conn: OscarConnector, cursor: str | None) -> tuple[list[str], str | None]:
    keys, last = [], cursor
    for page in read_statuses(conn, cursor, now=NOW):
        keys += [e.key for e in page.events]
        last = page.cursor or last
    return keys, last


def test_the_stream_is_offered_only_when_asked_for(shop: FakeOscar) -> None:
    assert make().streams() == ("orders",)
    assert make(orders_recheck_days=7).streams() == ("orders", "order_statuses")
    with pytest.raises(DataError):
        list(make().read("order_statuses"))


def test_a_changed_status_is_read_again_once(shop: FakeOscar) -> None:
    conn = make(orders_recheck_days=2, page_size=1)
    first = shop.add_order("100001", [(1, 2, "39.98")])
    shop.add_order("100002", [(1, 1, "19.99")])
    shop.add_order("100000", [(1, 1, "19.99")], placed=T0 - timedelta(days=3))  # too old
    keys, cursor = poll(conn, None)  # first sight: every order of the window
    assert keys == ["order/100001/Pending", "order/100002/Pending"]
    shop.requests.clear()
    assert poll(conn, cursor) == ([], cursor)  # nothing changed: no new cursor
    assert not [url for _, url in shop.requests if "/lines/" in url]  # and no lines read
    shop.orders[first]["status"] = "Cancelled"
    keys, cursor = poll(conn, cursor)
    assert keys == ["order/100001/Cancelled"]
    page = next(iter(read_statuses(conn, None, now=NOW)))
    (body,) = conn.decode(page.events[0])
    assert body.sale.status is SaleStatus.CANCELLED and body.sale.lines[0].sku == SKU
    assert poll(conn, cursor)[0] == []


def test_orders_leaving_the_window_are_forgotten(shop: FakeOscar) -> None:
    conn = make(orders_recheck_days=1)
    shop.add_order("100001", [(1, 1, "19.99")])
    _, cursor = poll(conn, None)
    assert cursor == '{"100001":"Pending"}'
    later = list(read_statuses(conn, cursor, now=NOW + timedelta(days=2)))
    assert [(p.events, p.cursor) for p in later] == [([], "{}")]


def test_a_broken_cursor_is_a_data_error(shop: FakeOscar) -> None:
    with pytest.raises(DataError, match="order_statuses cursor"):
        poll(make(orders_recheck_days=1), "not json")


def test_orders_before_orders_since_are_not_read(shop: FakeOscar) -> None:
    shop.add_order("100001", [(1, 1, "19.99")], placed=T0)
    shop.add_order("100002", [(1, 1, "19.99")], placed=T0 + timedelta(hours=2))
    conn = make(orders_recheck_days=7, orders_since=(T0 + timedelta(hours=1)).isoformat())
    assert poll(conn, None)[0] == ["order/100002/Pending"]
