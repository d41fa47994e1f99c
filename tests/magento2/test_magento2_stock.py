"""Stock out: MSI source-items batches, catalog checks, compare-and-set, read back."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bridge.connector import ConnectorContext, StockWrite, WriteBatch
from connectors.magento2 import Magento2Connector
from connectors.magento2.connector import ITEM_ENTITY, MAX_BATCH
from tests.magento2.magento_fakes import FakeMagento, make_config


def stock(sku: str, quantity: str, previous: str | None = None, **kwargs) -> StockWrite:
    return StockWrite(
        sku=sku,
        location=kwargs.pop("location", "default"),
        quantity=Decimal(quantity),
        previous=None if previous is None else Decimal(previous),
        **kwargs,
    )


def small_pages() -> Magento2Connector:
    return Magento2Connector(make_config(page_size=2), ConnectorContext(connection="webshop"))


def write(connector: Magento2Connector, *items: StockWrite, key: str = "push-1"):
    return connector.write("stock", WriteBatch(key, list(items), reference="StockPush/1"))


def test_source_items_are_posted_in_batches_of_twenty(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    for n in range(45):
        shop.add_product(f"SKU-{n:03d}", quantity=7)
    result = write(connector, *(stock(f"SKU-{n:03d}", str(n % 3)) for n in range(45)))
    assert result.written == 45 and not result.failed and not result.stale
    assert [len(p) for p in shop.stock_posts] == [20, 20, 5] and MAX_BATCH == 20
    assert shop.stock_posts[0][:3] == [
        {"sku": "SKU-000", "source_code": "default", "quantity": 0, "status": 0},
        {"sku": "SKU-001", "source_code": "default", "quantity": 1, "status": 1},
        {"sku": "SKU-002", "source_code": "default", "quantity": 2, "status": 1},
    ]
    assert result.observed["SKU-004@default"] == Decimal(1)
    # Without ``previous`` nothing is read first: one catalog lookup, then the writes.
    assert len(shop.calls("GET", "/products")) == 1
    assert not shop.calls("GET", "/inventory/source-items")


def test_the_catalog_is_asked_once_per_sku_then_the_bindings_answer(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    product = shop.add_product("MUG-BLUE", quantity=3)
    write(connector, stock("MUG-BLUE", "4"))
    assert connector.context.bindings.get_external(ITEM_ENTITY, "MUG-BLUE") == str(product["id"])
    lookup = shop.calls("GET", "/products")[0]
    assert lookup["searchCriteria[filterGroups][0][filters][0][field]"] == "sku"
    assert lookup["searchCriteria[filterGroups][0][filters][0][conditionType]"] == "eq"
    write(connector, stock("MUG-BLUE", "5"), key="push-2")
    assert len(shop.calls("GET", "/products")) == 1
    assert shop.held("MUG-BLUE") == 5


def test_unknown_and_composite_skus_fail_alone_and_nothing_is_sent_for_them(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("MUG-BLUE", quantity=3)
    shop.add_product("Tshirt-Red", quantity=3)
    shop.add_product("TSHIRT", kind="configurable")
    result = write(
        connector,
        stock("MUG-BLUE", "4"),
        stock("GHOST-1", "4"),
        stock("TSHIRT", "4"),
        stock("TSHIRT-RED", "4"),
    )
    assert result.written == 1
    assert set(result.failed) == {"GHOST-1@default", "TSHIRT@default", "TSHIRT-RED@default"}
    assert "not in the Magento catalog" in result.failed["GHOST-1@default"]
    assert "configurable product" in result.failed["TSHIRT@default"]
    assert "'Tshirt-Red'" in result.failed["TSHIRT-RED@default"]  # case differs: a hint
    assert [i["sku"] for p in shop.stock_posts for i in p] == ["MUG-BLUE"]
    assert ("GHOST-1", "default") not in shop.source_items  # no orphan row (magento2#38154)
    lookup = shop.calls("GET", "/products")[0]
    assert lookup["searchCriteria[filterGroups][0][filters][0][conditionType]"] == "in"
    assert set(lookup["searchCriteria[filterGroups][0][filters][0][value]"].split(",")) == {
        "MUG-BLUE",
        "GHOST-1",
        "TSHIRT",
        "TSHIRT-RED",
    }


def test_locations_outside_the_configured_sources_and_bad_values_fail(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("MUG-BLUE", quantity=3)
    result = write(
        connector,
        stock("MUG-BLUE", "1", location="lyon"),
        stock("MUG-BLUE", "2.12345", location="paris_rivoli"),
        stock("MUG-BLUE", "1.5"),
    )
    assert "not one of this connection's MSI sources" in result.failed["MUG-BLUE@lyon"]
    assert "more than 4 decimals" in result.failed["MUG-BLUE@paris_rivoli"]
    assert result.written == 1 and shop.held("MUG-BLUE") == Decimal("1.5")
    assert shop.stock_posts == [
        [{"sku": "MUG-BLUE", "source_code": "default", "quantity": Decimal("1.5"), "status": 1}]
    ]


def test_the_mapping_may_set_the_status_but_no_other_field(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("MUG-BLUE", quantity=3)
    shop.add_product("MUG-RED", quantity=3)
    result = write(
        connector,
        stock("MUG-BLUE", "0", fields={"status": "1"}),
        stock("MUG-RED", "2", fields={"notify_stock_qty": 1}),
    )
    assert shop.source_items[("MUG-BLUE", "default")]["status"] == 1  # sold on backorder
    assert "not a source item field" in result.failed["MUG-RED@default"]


def test_compare_and_set_reads_first_and_never_forces_a_stale_item(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("AGREES", quantity=5)
    shop.add_product("MOVED", quantity=3)  # a hand edit in the admin: Brique thought 5
    shop.add_product("ALREADY", quantity=8)  # a replay: the target is already there
    shop.add_product("NO-ROW")  # no source item at this source yet
    result = write(
        connector,
        stock("AGREES", "4", previous="5"),
        stock("MOVED", "4", previous="5"),
        stock("ALREADY", "8", previous="9"),
        stock("NO-ROW", "4", previous="2"),
    )
    assert result.stale == {"MOVED@default": Decimal(3), "NO-ROW@default": None}
    assert result.written == 2 and not result.failed
    assert result.observed == {"AGREES@default": Decimal(4), "ALREADY@default": Decimal(8)}
    assert [i["sku"] for p in shop.stock_posts for i in p] == ["AGREES"]
    assert shop.held("MOVED") == 3  # not forced
    read = shop.calls("GET", "/inventory/source-items")
    assert len(read) == 1
    query = read[0]
    assert query["searchCriteria[filterGroups][0][filters][0][field]"] == "sku"
    assert query["searchCriteria[filterGroups][0][filters][0][conditionType]"] == "in"
    assert set(query["searchCriteria[filterGroups][0][filters][0][value]"].split(",")) == {
        "AGREES",
        "MOVED",
        "ALREADY",
        "NO-ROW",
    }
    assert query["searchCriteria[filterGroups][1][filters][0][field]"] == "source_code"
    assert query["searchCriteria[filterGroups][1][filters][0][value]"] == "default"


def test_a_replayed_batch_changes_nothing(connector: Magento2Connector, shop: FakeMagento) -> None:
    for sku in ("A", "B", "C"):
        shop.add_product(sku, quantity=1)
    batch = [stock("A", "4"), stock("B", "0"), stock("C", "2")]
    write(connector, *batch)
    applied = shop.applied
    again = write(connector, *batch)
    assert again.written == 3 and shop.applied == applied
    # With compare-and-set, the replay is recognised and sends nothing at all.
    posts = len(shop.stock_posts)
    replay = write(connector, *(stock(i.sku, str(i.quantity), previous="1") for i in batch))
    assert replay.written == 3 and not replay.stale and len(shop.stock_posts) == posts


def test_a_refused_batch_is_halved_until_the_refused_item_is_found(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    for n in range(6):
        shop.add_product(f"SKU-{n}", quantity=1)
    write(connector, *(stock(f"SKU-{n}", "1") for n in range(6)))  # binds the six SKUs
    del shop.products["SKU-3"]  # deleted in Magento since: the binding is out of date
    shop.unknown_sku = "refuse"  # 2.4.6: "Could not save Source Item" for the whole call
    result = write(connector, *(stock(f"SKU-{n}", "5") for n in range(6)), key="push-2")
    assert list(result.failed) == ["SKU-3@default"]
    assert result.failed["SKU-3@default"].endswith("HTTP 400: Could not save Source Item")
    assert result.written == 5
    assert all(shop.held(f"SKU-{n}") == 5 for n in (0, 1, 2, 4, 5))


def test_a_site_with_a_lower_input_limit_gets_smaller_calls(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.input_limit = 8
    for n in range(20):
        shop.add_product(f"SKU-{n:02d}", quantity=1)
    result = write(connector, *(stock(f"SKU-{n:02d}", "3") for n in range(20)))
    assert result.written == 20 and not result.failed
    assert max(len(p) for p in shop.stock_posts) <= 8


def test_quantities_travel_as_exact_json_numbers(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("FLOUR-KG", quantity=1)
    write(connector, stock("FLOUR-KG", "2.3000"))
    sent = shop.stock_posts[0][0]["quantity"]
    assert sent == Decimal("2.3000") and str(sent) == "2.3000"  # the digits Brique had
    assert isinstance(sent, Decimal)  # a JSON number (parsed exactly), not text


def test_read_stock_answers_source_quantities_not_salable_ones(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("MUG-BLUE", quantity=10)
    shop.add_product("MUG-RED", quantity=4, source="paris_rivoli")
    shop.reservations["MUG-BLUE"] = Decimal(3)  # three web orders not shipped yet
    found = connector.read_stock(
        [
            ("MUG-BLUE", "default"),
            ("MUG-RED", "paris_rivoli"),
            ("MUG-RED", "default"),  # no source item there
            ("GHOST", "default"),
            ("MUG-BLUE", "lyon"),  # not a configured source
        ]
    )
    assert found == {("MUG-BLUE", "default"): Decimal(10), ("MUG-RED", "paris_rivoli"): 4}
    assert connector.salable_quantity("MUG-BLUE") == Decimal(7)


def test_salable_quantity_of_an_unknown_sku_is_none(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("TSHIRT", kind="configurable")
    assert connector.salable_quantity("GHOST/1") is None  # 404: that SKU only
    assert connector.salable_quantity("TSHIRT") is None  # 400: no source items
    paths = [p for m, p, q in shop.requests if "salable" in p]
    assert paths[0].endswith("/get-product-salable-quantity/GHOST/1/1")


def test_source_item_pages_stop_at_total_count(shop: FakeMagento) -> None:
    connector = small_pages()
    for n in range(5):
        shop.add_product(f"SKU-{n}", quantity=n + 1)
    found = connector.read_stock([(f"SKU-{n}", "default") for n in range(5)])
    assert found == {(f"SKU-{n}", "default"): Decimal(n + 1) for n in range(5)}
    pages = [q["searchCriteria[currentPage]"] for q in shop.calls("GET", "/source-items")]
    assert pages == ["1", "2", "3"]


@pytest.mark.parametrize("offset", [2, 1000])
def test_source_item_pages_survive_a_wrong_total_count(shop: FakeMagento, offset: int) -> None:
    connector = small_pages()
    shop.total_count_offset = offset
    for n in range(3):
        shop.add_product(f"SKU-{n}", quantity=1)
    assert len(connector.read_stock([(f"SKU-{n}", "default") for n in range(3)])) == 3
    # Page 3 is past the end: Magento answers page 2 again, which ends the read.
    pages = [q["searchCriteria[currentPage]"] for q in shop.calls("GET", "/source-items")]
    assert pages == ["1", "2", "3"]


def test_batches_are_sent_as_json(connector: Magento2Connector, shop: FakeMagento) -> None:
    shop.add_product("MUG-BLUE", quantity=1)
    bodies: list[str] = []
    original = connector.client.session.request

    def spy(method, url, **kwargs):
        if method == "POST":
            bodies.append(kwargs["data"].decode())
        return original(method, url, **kwargs)

    connector.client.session.request = spy  # type: ignore[method-assign]
    write(connector, stock("MUG-BLUE", "12"))
    assert json.loads(bodies[0]) == {
        "sourceItems": [{"sku": "MUG-BLUE", "source_code": "default", "quantity": 12, "status": 1}]
    }
